"""Business rules for projects, sources and tasks: pages, API, admin and jobs call these.

Rule violations raise ``django.core.exceptions.ValidationError`` keyed by field, so a page
shows a form error and the API a 400 naming the field; a task whose status does not allow
the action (or that changed meanwhile) raises ``StateError``. The limits on the input live
here too, so page, API and admin refuse the same things; forms and serializers take their
numbers from these constants.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cradle_site import dates
from cradle_site.audit_vocabulary import EventType
from cradle_site.errors import StateError
from cradle_site.outbound import UnsafeURL, check_url_syntax
from ops.audit import audit_record
from publishing import alerts, folders, queue, x_text
from publishing.content import stream_hash, text_hash
from publishing.models import ContentSource, Project, PublishingLog, PublishingTask
from publishing.outcomes import log_attempt
from publishing.scheduling import parse_slot, slot_label, slots_next_free
from publishing.sources import SourceError
from publishing.sources.local_folder import MEDIA_SUFFIXES

Status = PublishingTask.Status
CREDENTIAL_FIELDS = ("x_consumer_key", "x_consumer_secret", "x_access_token", "x_access_token_secret")
SOURCE_PATH_MAX_LENGTH = 2000
ALT_TEXT_MAX_LENGTH = 1000
# A caller's key and a media file's resolved path are both stored in the media_path column.
TASK_KEY_MAX_LENGTH = 400
MEDIA_PATH_MAX_LENGTH = PublishingTask._meta.get_field("media_path").max_length
PRIORITY_MIN, PRIORITY_MAX = -1000, 1000


def _too_long(limit: int) -> str:
    return _("At most %(n)s characters.") % {"n": limit}


def _check_priority(priority: int | None) -> None:
    if priority is not None and not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise ValidationError(
            {
                "priority": _("Choose a priority between %(min)s and %(max)s.")
                % {"min": PRIORITY_MIN, "max": PRIORITY_MAX}
            }
        )


def clean_slot_times(values: list[str]) -> list[str]:
    cleaned = []
    for value in values:
        try:
            cleaned.append(slot_label(*parse_slot(value)))
        except ValueError:
            raise ValidationError(
                {"slot_times": _("%(value)s is not a time like 09:30 or Mon-Fri 09:30") % {"value": value}}
            ) from None
    return sorted(set(cleaned))


def _check_one_slot_rule(slot_times: list[str], slot_interval_minutes: int | None) -> None:
    # Both at once would leave one silently ignored; the owner says which one they mean.
    if slot_times and slot_interval_minutes:
        raise ValidationError(
            {"slot_interval_minutes": _("Give posting times or an interval, not both: leave one of them empty.")}
        )


def check_evergreen_interval(*, evergreen_after_days: int | None, duplicate_window_days: int) -> None:
    if evergreen_after_days is not None and evergreen_after_days < max(duplicate_window_days, 1):
        raise ValidationError(
            {
                "evergreen_after_days": _(
                    "At least the duplicate window (%(days)s days): a copy sooner would be skipped as a duplicate."
                )
                % {"days": duplicate_window_days}
            }
        )


def project_create(*, owner, name: str, **fields) -> Project:
    if Project.objects.filter(owner=owner, name=name).exists():
        raise ValidationError({"name": _("You already have a project with this name.")})
    if "slot_times" in fields:
        fields["slot_times"] = clean_slot_times(fields["slot_times"] or [])
    _check_one_slot_rule(fields.get("slot_times") or [], fields.get("slot_interval_minutes"))
    check_evergreen_interval(
        evergreen_after_days=fields.get("evergreen_after_days"),
        duplicate_window_days=fields.get(
            "duplicate_window_days", Project._meta.get_field("duplicate_window_days").default
        ),
    )
    if "alert_webhook_url" in fields:
        fields.update(_alert_webhook_fields(Project(), fields["alert_webhook_url"]))
    try:
        with transaction.atomic():
            project = Project.objects.create(owner=owner, name=name, **fields)
            audit_record(EventType.PROJECT_CREATED, user=owner, obj=project, label=project.name)
            return project
    except IntegrityError:
        raise ValidationError({"name": _("You already have a project with this name.")}) from None


def project_update(*, project: Project, **fields) -> Project:
    if (
        "name" in fields
        and Project.objects.filter(owner=project.owner, name=fields["name"]).exclude(pk=project.pk).exists()
    ):
        raise ValidationError({"name": _("You already have a project with this name.")})
    if "slot_times" in fields:
        fields["slot_times"] = clean_slot_times(fields["slot_times"] or [])
    _check_one_slot_rule(
        fields.get("slot_times", project.slot_times) or [],
        fields.get("slot_interval_minutes", project.slot_interval_minutes),
    )
    if "alert_webhook_url" in fields:
        fields.update(_alert_webhook_fields(project, fields["alert_webhook_url"]))
    check_evergreen_interval(
        evergreen_after_days=fields.get("evergreen_after_days", project.evergreen_after_days),
        duplicate_window_days=fields.get("duplicate_window_days", project.duplicate_window_days),
    )
    changed = [key for key, value in fields.items() if getattr(project, key) != value]
    for key, value in fields.items():
        setattr(project, key, value)
    with transaction.atomic():
        project.save()
        audit_record(EventType.PROJECT_CHANGED, user=project.owner_id, obj=project, label=project.name, changed=changed)
    return project


def _alert_webhook_fields(project: Project, url: str) -> dict[str, str]:
    try:
        return alerts.webhook_fields(project, url)
    except ValidationError as exc:
        raise ValidationError({"alert_webhook_url": exc.messages}) from None


def project_set_credentials(*, project: Project, **credentials: str) -> Project:
    """Save new X credentials (all four) and lift the 401 pause."""
    missing = [name for name in CREDENTIAL_FIELDS if not (credentials.get(name) or "").strip()]
    if missing:
        raise ValidationError({name: _("This field is required.") for name in missing})
    for name in CREDENTIAL_FIELDS:
        setattr(project, name, credentials[name].strip())
    project.needs_credentials = False
    with transaction.atomic():
        project.save(update_fields=[*CREDENTIAL_FIELDS, "needs_credentials"])
        _audit_credentials(project, "set")
        alerts.credentials_replaced(project.pk)
    return project


def _audit_credentials(project: Project, action: str) -> None:
    # The credential fields' names only: their values are secrets (encrypted at rest).
    changed = [*CREDENTIAL_FIELDS, "needs_credentials"]
    audit_record(
        EventType.PROJECT_CHANGED,
        user=project.owner_id,
        obj=project,
        label=project.name,
        changed=changed,
        data={"x_account": action},
    )


def project_clear_credentials(*, project: Project) -> Project:
    """Back to the dry-run publisher."""
    for name in CREDENTIAL_FIELDS:
        setattr(project, name, "")
    project.needs_credentials = False
    with transaction.atomic():
        project.save(update_fields=[*CREDENTIAL_FIELDS, "needs_credentials"])
        _audit_credentials(project, "cleared")
        alerts.credentials_replaced(project.pk)
    return project


def project_set_paused(*, project: Project, paused: bool) -> Project:
    with transaction.atomic():
        Project.objects.filter(pk=project.pk).update(paused=paused)
        audit_record(
            EventType.PROJECT_CHANGED, user=project.owner_id, obj=project, label=project.name, changed=["paused"]
        )
    project.paused = paused
    return project


def source_create(
    *, project: Project, source_type: str, path_or_identifier: str, credential: str = ""
) -> ContentSource:
    path_or_identifier = (path_or_identifier or "").strip()
    if source_type not in ContentSource.SourceType.values:
        raise ValidationError({"source_type": _("Choose local_folder, rss_feed or google_drive.")})
    if not path_or_identifier:
        raise ValidationError({"path_or_identifier": _("This field is required.")})
    if len(path_or_identifier) > SOURCE_PATH_MAX_LENGTH:
        raise ValidationError({"path_or_identifier": _too_long(SOURCE_PATH_MAX_LENGTH)})
    if source_type == ContentSource.SourceType.LOCAL_FOLDER:
        try:
            folder = folders.resolve(project.owner_id, path_or_identifier)
        except SourceError as exc:
            raise ValidationError({"path_or_identifier": str(exc)}) from None
        if not folder.is_dir():
            raise ValidationError(
                {
                    "path_or_identifier": _("There is no folder %(path)s in your folder.")
                    % {"path": folders.relative(project.owner_id, folder)}
                }
            )
        path_or_identifier = str(folder)
    elif source_type == ContentSource.SourceType.RSS_FEED:
        if not path_or_identifier.startswith(("http://", "https://")):
            raise ValidationError({"path_or_identifier": _("A feed is an http:// or https:// address.")})
        try:
            # Syntax and a literal address only, no DNS inside the request: the address the
            # name resolves to is checked when the feed is read (cradle_site.outbound).
            check_url_syntax(path_or_identifier)
        except UnsafeURL as exc:
            raise ValidationError({"path_or_identifier": str(exc)}) from None
    elif "'" in path_or_identifier or "/" in path_or_identifier:
        raise ValidationError({"path_or_identifier": _("Give the Drive folder id, not its address.")})
    with transaction.atomic():
        source = ContentSource.objects.create(
            project=project, source_type=source_type, path_or_identifier=path_or_identifier, credential=credential
        )
        audit_record(EventType.SOURCE_CREATED, user=project.owner_id, obj=source, label=source_type)
    return source


def _check_scheduled_at(scheduled_at: datetime | None) -> None:
    if scheduled_at is not None and not dates.in_window(scheduled_at):
        raise ValidationError({"scheduled_at": dates.out_of_window_reason()})


# A time a minute or two ago is "now" (a form's minutes, a slow click): it posts at once.
PAST_GRACE = timedelta(minutes=5)


def _check_not_past(scheduled_at: datetime | None) -> None:
    """A post moved or written for a time that has passed is refused, not posted at once:
    the owner meant a time, and the next free slot is one choice away (an empty time)."""
    if scheduled_at is not None and scheduled_at < timezone.now() - PAST_GRACE:
        raise ValidationError(
            {
                "scheduled_at": _(
                    "That time has passed. Choose a time from now on, or leave it empty for the next free slot."
                )
            }
        )


def task_create(
    *,
    project: Project,
    text: str = "",
    alt_text: str = "",
    media_path: str = "",
    key: str = "",
    scheduled_at: datetime | None = None,
    priority: int = 0,
) -> PublishingTask:
    """A task from outside any source (the API). Without ``scheduled_at`` it takes the next slot.

    ``media_path`` must name a media file inside the owner's folder (``publishing.folders``:
    absolute, or relative to that folder); ``key`` (the
    caller's idempotency key) defaults to the media path, or a fresh id.
    """
    _check_scheduled_at(scheduled_at)
    _check_priority(priority)
    text = (text or "").strip()
    x_text.check_fits(text, field="text")  # X's weighted length, not len()
    if len(alt_text or "") > ALT_TEXT_MAX_LENGTH:
        raise ValidationError({"alt_text": _too_long(ALT_TEXT_MAX_LENGTH)})
    if len(key or "") > TASK_KEY_MAX_LENGTH:
        raise ValidationError({"key": _too_long(TASK_KEY_MAX_LENGTH)})
    if len(media_path or "") > MEDIA_PATH_MAX_LENGTH:
        raise ValidationError({"media_path": _too_long(MEDIA_PATH_MAX_LENGTH)})
    media = None
    media_hash = ""
    if media_path:
        # Outside the folder: folders.OUTSIDE whether or not something is there. Inside:
        # the user may learn what their own folder holds.
        try:
            path = folders.resolve(project.owner_id, media_path)
            if path.suffix.lower() not in MEDIA_SUFFIXES:
                raise folders.NotAFile()
            with folders.open_file(project.owner_id, path) as handle:
                media_hash = stream_hash(handle)
        except folders.OutsideFolder as exc:
            raise ValidationError({"media_path": str(exc)}) from None
        except SourceError:
            raise ValidationError({"media_path": _("No image, GIF or video at this path.")}) from None
        if len(str(path)) > MEDIA_PATH_MAX_LENGTH:  # resolved, a relative path grows
            raise ValidationError({"media_path": _too_long(MEDIA_PATH_MAX_LENGTH)})
        media = {"kind": "file", "path": str(path)}
    if not text and not media:
        raise ValidationError({"text": _("Give a text, a media file, or both.")})
    item_key = key or (str(media["path"]) if media else f"api:{uuid.uuid4().hex}")
    if PublishingTask.objects.filter(project=project, media_path=item_key).exists():
        field = "key" if key else "media_path"
        raise ValidationError({field: _("This project already has a task for this item.")})
    if scheduled_at is None:
        scheduled_at = (slots_next_free(project=project, count=1) or [timezone.now()])[0]
    try:
        with transaction.atomic():
            task = PublishingTask.objects.create(
                project=project,
                media_path=item_key,
                content_data={"text": text, "alt_text": alt_text, "media": media},
                content_hash=text_hash(text),
                media_hash=media_hash,
                scheduled_at=scheduled_at,
                priority=priority,
            )
            audit_record(EventType.TASK_CREATED, user=project.owner_id, obj=task, data={"project_id": project.pk})
            return task
    except IntegrityError:
        raise ValidationError({"key": _("This project already has a task for this item.")}) from None


def _stale() -> StateError:
    return StateError(_("The task changed meanwhile; reload and try again."))


def task_retry(*, task: PublishingTask, when: datetime | None = None) -> PublishingTask:
    """A failed or cancelled task goes back to the queue, its retries counted from zero."""
    if task.status not in (Status.FAILED, Status.CANCELLED):
        raise StateError(_("Only failed or cancelled tasks can be retried."))
    with transaction.atomic():
        if not queue.task_transition(
            task,
            expect_status=task.status,
            status=Status.PENDING,
            retry_count=0,
            scheduled_at=when or timezone.now(),
            last_error="",
        ):
            raise _stale()
        _audit_task(EventType.TASK_RETRIED, task, ["status", "retry_count", "scheduled_at", "last_error"])
    return task


def _audit_task(event_type: str, task: PublishingTask, changed: list[str]) -> None:
    owner_id = Project.objects.values_list("owner_id", flat=True).get(pk=task.project_id)
    audit_record(event_type, user=owner_id, obj=task, changed=changed, data={"status": task.status})


def task_cancel(*, task: PublishingTask) -> PublishingTask:
    if task.status not in (Status.PENDING, Status.FAILED, Status.HELD):
        raise StateError(_("Only pending, failed or held tasks can be cancelled."))
    with transaction.atomic():
        if not queue.task_transition(task, expect_status=task.status, status=Status.CANCELLED):
            raise _stale()
        _audit_task(EventType.TASK_CHANGED, task, ["status"])
    return task


def task_reschedule(*, task: PublishingTask, scheduled_at: datetime | None = None, priority: int | None = None):
    """Move a pending post (the queue's form, the calendar's drop, the API). A past time is refused."""
    _check_scheduled_at(scheduled_at)
    _check_not_past(scheduled_at)
    _check_priority(priority)
    if task.status != Status.PENDING:
        raise StateError(_("Only pending tasks can be moved."))
    changes = {}
    if scheduled_at is not None:
        changes["scheduled_at"] = scheduled_at
    if priority is not None:
        changes["priority"] = priority
    with transaction.atomic():
        if changes and not queue.task_transition(task, expect_status=Status.PENDING, **changes):
            raise _stale()
        if changes:
            _audit_task(EventType.TASK_CHANGED, task, list(changes))
    return task


def _check_held(task: PublishingTask) -> None:
    if task.status != Status.HELD:
        raise StateError(_("Only a task held because it may already be on X waits for this decision."))


def task_post_anyway(*, task: PublishingTask) -> PublishingTask:
    """The owner checked X and the held post is not there: post it now (``publishing.holds``).

    ``maybe_posted`` is cleared, since the owner's look at X answers it, so the task is not
    held again and a later "duplicate" from X is a real duplicate.
    """
    _check_held(task)
    with transaction.atomic():
        if not queue.task_transition(
            task,
            expect_status=Status.HELD,
            status=Status.PENDING,
            maybe_posted=False,
            scheduled_at=timezone.now(),
            last_error="",
        ):
            raise _stale()
        _audit_task(EventType.TASK_CHANGED, task, ["status", "maybe_posted", "scheduled_at", "last_error"])
    return task


def task_mark_posted(*, task: PublishingTask) -> PublishingTask:
    """The owner checked X and the held post is there: record it as published, never post it."""
    _check_held(task)
    with transaction.atomic():
        if not queue.task_transition(
            task, expect_status=Status.HELD, status=Status.SUCCESS, published_at=timezone.now(), last_error=""
        ):
            raise _stale()
        log_attempt(
            task,
            status=PublishingLog.Status.SUCCESS,
            duration=0.0,
            message="Marked as posted by the owner: an earlier attempt had posted it.",
        )
        _audit_task(EventType.TASK_CHANGED, task, ["status", "published_at", "last_error"])
    return task
