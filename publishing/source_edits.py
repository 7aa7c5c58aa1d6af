"""Changing and removing a source, and what happens to the posts it queued.

A source's settings (its post text template, hashtags, UTM parameters, whether it is
scanned automatically) apply to the items its next scans find; tasks already queued keep
their text, which the owner edits in the composer.

Removing a source asks what to do with its waiting tasks (pending or held):

- ``keep``: they stay in the queue and are posted as planned (they no longer name a source);
- ``cancel``: they are cancelled (published ones and the history stay);
- ``move``: they go to another project of the same owner, keeping their times. A task the
  other project already has (the same item) is cancelled instead of posted twice.

A task a worker holds right now (``locked``) is left to finish; it is in none of these.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cradle_site.audit_vocabulary import EventType
from ops.audit import audit_record
from publishing import text_templates
from publishing.models import ContentSource, Project, PublishingTask

WAITING = (PublishingTask.Status.PENDING, PublishingTask.Status.HELD)
KEEP, CANCEL, MOVE = "keep", "cancel", "move"
CHOICES = (KEEP, CANCEL, MOVE)
TEXT_FIELDS = ("text_template", "hashtags", "utm_source", "utm_medium", "utm_campaign")


@dataclass(frozen=True)
class Removed:
    kept: int = 0
    cancelled: int = 0
    moved: int = 0


def source_update(*, source: ContentSource, **changes) -> ContentSource:
    """Save the source's text template, hashtags, UTM parameters and ``is_active``."""
    unknown = set(changes) - {*TEXT_FIELDS, "is_active"}
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in sorted(unknown)})
    if "text_template" in changes:
        changes["text_template"] = text_templates.template_check(changes["text_template"] or "")
        if len(changes["text_template"]) > 2000:
            raise ValidationError({"text_template": _("At most 2,000 characters.")})
    if "hashtags" in changes:
        changes["hashtags"] = text_templates.hashtags_clean(changes["hashtags"] or "")
        if len(changes["hashtags"]) > 500:
            raise ValidationError({"hashtags": _("At most 500 characters.")})
    for key in text_templates.UTM_KEYS:
        if key in changes:
            value = (changes[key] or "").strip()
            if len(value) > 100 or any(c.isspace() for c in value):
                raise ValidationError({key: _("One word of at most 100 characters.")})
            changes[key] = value
    changed = [name for name, value in changes.items() if getattr(source, name) != value]
    for name, value in changes.items():
        setattr(source, name, value)
    with transaction.atomic():
        source.save(update_fields=list(changes))
        audit_record(
            EventType.SOURCE_CHANGED,
            user=source.project.owner_id,
            obj=source,
            label=source.get_source_type_display(),
            changed=changed,
        )
    return source


def waiting_count(source: ContentSource) -> int:
    return PublishingTask.objects.filter(source=source, status__in=WAITING).count()


def source_delete(*, source: ContentSource, waiting: str, move_to: Project | None = None) -> Removed:
    """Remove ``source``; its waiting tasks are kept, cancelled or moved (see the module doc)."""
    if waiting not in CHOICES:
        raise ValidationError({"waiting": _("Choose keep, cancel or move.")})
    if waiting == MOVE and (move_to is None or move_to.owner_id != source.project.owner_id):
        raise ValidationError({"move_to": _("Choose another project of yours.")})
    if waiting == MOVE and move_to.pk == source.project_id:
        raise ValidationError({"move_to": _("Choose another project than this source's own.")})
    with transaction.atomic():
        ContentSource.objects.select_for_update().filter(pk=source.pk).values_list("pk", flat=True).get()
        tasks = PublishingTask.objects.filter(source=source, status__in=WAITING)
        result = Removed(kept=tasks.count()) if waiting == KEEP else Removed()
        if waiting == CANCEL:
            result = Removed(cancelled=tasks.update(status=PublishingTask.Status.CANCELLED))
        elif waiting == MOVE:
            taken = PublishingTask.objects.filter(
                project=move_to, media_path__in=tasks.values_list("media_path", flat=True)
            ).values_list("media_path", flat=True)
            clashing = set(taken)
            cancelled = tasks.filter(media_path__in=clashing).update(status=PublishingTask.Status.CANCELLED)
            moved = tasks.exclude(media_path__in=clashing).update(project=move_to)
            result = Removed(cancelled=cancelled, moved=moved)
        audit_record(
            EventType.SOURCE_DELETED,
            user=source.project.owner_id,
            obj=source,
            label=source.get_source_type_display(),
            data={
                "waiting": waiting,
                "posts_kept": result.kept,
                "posts_cancelled": result.cancelled,
                "posts_moved": result.moved,
            },
        )
        source.delete()  # its tasks keep their rows; the foreign key is set to NULL
    return result
