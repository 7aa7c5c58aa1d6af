"""Publishing data: projects own content sources; items become tasks; attempts become logs.

The tables follow the seed (000_710f4bc246469258) with these deliberate changes:

- ``PublishingTask.media_path`` is unique per project, not globally: with many users a
  global UNIQUE lets one user's file name block another user's task (and leaks, by the
  IntegrityError, that someone else has that path). Per project it still makes a scan
  idempotent, which is what the seed's constraint was for.
- ``media_path`` is the item's key inside the project: a file path for local folders,
  ``rss:<guid>`` for feeds, ``gdrive:<file id>`` for Drive, ``api:<key>`` for API tasks.
- ``source`` is nullable: tasks created through the API come from no source.
- Tasks carry a lease (``locked_by`` / ``lease_expires_at``) so a task locked by a worker
  that died is taken back, and ``maybe_posted`` remembers that an attempt may have reached
  X (a timeout or a lost worker) so a later 403 "duplicate" means "already posted"; a
  ``maybe_posted`` task X cannot refuse a copy of is ``held`` for its owner instead
  (``publishing.holds``).
- X credentials are encrypted at rest with the site's Fernet keys.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site.fields import EncryptedTextField
from cradle_site.querysets import OwnedQuerySet

# The key task_create gives a task the API sent without one.
GENERATED_KEY = re.compile(r"api:[0-9a-f]{32}")


class Network(models.TextChoices):
    """Where a post goes (``publishing.networks`` holds each one's rules)."""

    X = "x", "X"
    MASTODON = "mastodon", "Mastodon"
    BLUESKY = "bluesky", "Bluesky"


class ProjectQuerySet(OwnedQuerySet):
    owner_path = "owner"


class Project(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects", verbose_name=_("owner")
    )
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("created at"))

    # OAuth 1.0a user-context credentials (media upload needs v1.1 + OAuth 1.0a).
    x_consumer_key = EncryptedTextField(_("API key"), blank=True)
    x_consumer_secret = EncryptedTextField(_("API key secret"), blank=True)
    x_access_token = EncryptedTextField(_("access token"), blank=True)
    x_access_token_secret = EncryptedTextField(_("access token secret"), blank=True)
    # X connected by OAuth 2.0 (publishing.x_oauth): the refresh token is the lasting secret
    # (X replaces it at every refresh); the access token lives two hours.
    x_oauth_refresh_token = EncryptedTextField(_("X refresh token"), blank=True)
    x_oauth_access_token = EncryptedTextField(_("X access token"), blank=True)
    x_oauth_expires_at = models.DateTimeField(_("X access token expires at"), null=True, blank=True)
    x_oauth_account = models.CharField(_("X account"), max_length=64, blank=True)
    # Google Drive, connected by the owner through OAuth 2.0 (publishing.drive_oauth): the
    # refresh token is the lasting secret; the access token is a cache until it expires.
    gdrive_refresh_token = EncryptedTextField(blank=True, verbose_name=_("Google Drive refresh token"))
    gdrive_access_token = EncryptedTextField(blank=True, verbose_name=_("Google Drive access token"))
    gdrive_token_expires_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("Google Drive token expires at")
    )
    gdrive_account = models.CharField(_("Google Drive account"), max_length=254, blank=True)
    # Staff only (the admin): this project is the operator's own, so its Drive sources may use
    # PUBLISHING_GOOGLE_DRIVE_CREDENTIAL. Never offered to owners on their pages or the API.
    uses_operator_drive = models.BooleanField(
        _("uses the operator's Drive credential"),
        default=False,
        help_text=_("Only for the operator's own projects: their Drive sources read with the site's credential."),
    )
    # Evergreen (publishing.evergreen): published posts the owner marked evergreen are queued
    # again this many days after they went out; empty: off.
    evergreen_after_days = models.PositiveIntegerField(
        _("repost evergreen posts after (days)"), null=True, blank=True, validators=[MaxValueValidator(3660)]
    )
    # Archived: out of the project list, its queue paused and its sources not scanned; a
    # project being deleted is archived first (publishing.project_removal).
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    deleting_since = models.DateTimeField(_("being deleted since"), null=True, blank=True)
    # Set when X answered 401: the queue stays paused until new credentials are saved.
    needs_credentials = models.BooleanField(_("needs new credentials"), default=False)
    paused = models.BooleanField(_("paused"), default=False)
    # Alerts (publishing.alerts): an e-mail to the owner, and a signed POST to this URL if set.
    alert_email = models.BooleanField(_("e-mail me alerts"), default=True)
    alert_webhook_url = models.URLField(_("alert webhook URL"), max_length=2000, blank=True)
    # Standard Webhooks secret (cradle_site.webhooks), made when the URL is first set.
    alert_webhook_secret = EncryptedTextField(_("alert webhook signing secret"), blank=True, editable=False)

    # Posting slots: times of day ("HH:MM", in the owner's time zone) or one slot every
    # slot_interval_minutes; the services refuse both at once.
    slot_times = models.JSONField(_("posting times"), default=list, blank=True)
    # Upper bounds keep the date arithmetic in range: a step past year 9999 (scheduling)
    # or a window before year 1 (duplicates) raised OverflowError, in the request or the job.
    slot_interval_minutes = models.PositiveIntegerField(
        _("interval (minutes)"), null=True, blank=True, validators=[MaxValueValidator(24 * 60)]
    )
    daily_cap = models.PositiveIntegerField(_("posts per day at most"), default=24)
    duplicate_window_days = models.PositiveIntegerField(
        _("duplicate window (days)"), default=30, validators=[MaxValueValidator(3660)]
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="uniq_project_owner_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_oauth1_keys(self) -> bool:
        return all((self.x_consumer_key, self.x_consumer_secret, self.x_access_token, self.x_access_token_secret))

    @property
    def x_connected(self) -> bool:
        """Connected by OAuth 2.0 (``publishing.x_oauth``)."""
        return bool(self.x_oauth_refresh_token)

    @property
    def has_credentials(self) -> bool:
        """Posts really go to X: connected by OAuth 2.0, or the four OAuth 1.0a keys pasted."""
        return self.x_connected or self.has_oauth1_keys

    @property
    def credentials_hint(self) -> str:
        """What pages show instead of the secret: the last four characters of the token."""
        if not self.has_oauth1_keys:
            return ""
        return "…" + self.x_access_token[-4:]

    @property
    def is_active(self) -> bool:
        return not (self.paused or self.needs_credentials)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def being_deleted(self) -> bool:
        return self.deleting_since is not None

    @property
    def drive_connected(self) -> bool:
        return bool(self.gdrive_refresh_token)


class ContentSourceQuerySet(OwnedQuerySet):
    owner_path = "project__owner"


class ContentSource(models.Model):
    class SourceType(models.TextChoices):
        LOCAL_FOLDER = "local_folder", _("Local folder")
        RSS_FEED = "rss_feed", _("RSS feed")
        GOOGLE_DRIVE = "google_drive", _("Google Drive folder")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sources", verbose_name=_("project"))
    source_type = models.CharField(_("type"), max_length=50, choices=SourceType.choices)
    path_or_identifier = models.TextField(_("path or identifier"))
    # Drive: an OAuth access token or API key for this folder; empty = the site's setting.
    credential = EncryptedTextField(_("credential"), blank=True)
    total_items = models.PositiveIntegerField(
        default=0, verbose_name=_("total items")
    )  # items seen in the source at the last scan
    used_items = models.PositiveIntegerField(
        default=0, verbose_name=_("used items")
    )  # items turned into tasks (all time)
    last_scanned = models.DateTimeField(null=True, blank=True, verbose_name=_("last scanned"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    is_active = models.BooleanField(_("scan automatically"), default=True)
    # The post text made from each item (publishing.text_templates); empty: the item's own text.
    text_template = models.TextField(_("post text template"), blank=True, max_length=2000)
    hashtags = models.CharField(_("hashtags"), max_length=500, blank=True)
    utm_source = models.CharField("utm_source", max_length=100, blank=True)
    utm_medium = models.CharField("utm_medium", max_length=100, blank=True)
    utm_campaign = models.CharField("utm_campaign", max_length=100, blank=True)
    # The newest item's template values, kept by the scan for the template's live preview.
    sample_values = models.JSONField(_("latest item"), default=dict, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("created at"))

    # Scans run as jobs (publishing.scan_runs): claimed one source at a time through a lease
    # (cradle_site.leases), so a slow source holds one worker while the others go on.
    class ScanState(models.TextChoices):  # the claim's column
        IDLE = "idle", _("Idle")
        RUNNING = "running", _("Scanning")

    class ScanStatus(models.TextChoices):  # what the page and the API show (scan_status)
        NEVER = "never", _("Not scanned yet")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Scanning")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    scan_state = models.CharField(
        max_length=10, choices=ScanState.choices, default=ScanState.IDLE, editable=False, verbose_name=_("scan state")
    )
    next_scan_at = models.DateTimeField(_("next scan"), default=timezone.now)
    scan_lease_expires_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("scan lease expires at")
    )
    # What the page shows of the latest scan: asked for, started, items seen so far and added.
    scan_requested_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("scan requested at"))
    scan_started_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("scan started at"))
    scan_items_seen = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("scan items seen"))
    scan_items_added = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("scan items added"))
    # Failed scans in a row (reset by a scan that works): the "source keeps failing" alert.
    scan_failures = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("failed scans in a row"))

    objects = ContentSourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("content source")
        verbose_name_plural = _("content sources")
        ordering = ["project_id", "id"]
        indexes = [
            # The scan claim: free sources in due order (and the take-back of expired leases).
            models.Index(fields=["scan_state", "next_scan_at"], name="ix_sources_scan_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_type_display()}: {self.path_or_identifier}"

    @property
    def where(self) -> str:
        """The source as its owner sees it: a local folder relative to their own folder."""
        if self.source_type == self.SourceType.LOCAL_FOLDER:
            from publishing import folders

            return folders.relative(self.project.owner_id, self.path_or_identifier)
        return self.path_or_identifier

    @property
    def scan_status(self) -> str:
        """The latest scan's ``ScanStatus``: asked for and not started yet is queued."""
        if self.scan_state == self.ScanState.RUNNING:
            return self.ScanStatus.RUNNING
        if self.scan_requested_at and (self.scan_started_at is None or self.scan_requested_at > self.scan_started_at):
            return self.ScanStatus.QUEUED
        if self.last_error:
            return self.ScanStatus.FAILED
        return self.ScanStatus.DONE if self.last_scanned else self.ScanStatus.NEVER

    @property
    def scan_label(self) -> str:
        from publishing.scan_runs import scan_status_label

        return scan_status_label(self)


def fill_owners(rows) -> None:
    """Copy each row's project owner onto a task or log that has none (one query at most).

    Tasks and logs carry their owner so the owner's lists filter and sort on one table, with
    an index in the list's order: through the project, MariaDB started from the user's
    projects and sorted every task (or every log: a million rows) for each page. Every write
    path goes through here (``save``, ``bulk_create``); a project never changes owner (the
    admin shows it read-only), so the copy cannot go stale.
    """
    missing = [row for row in rows if row.owner_id is None]
    unknown = {row.project_id for row in missing if "project" not in row._state.fields_cache}
    owners = dict(Project.objects.filter(pk__in=unknown).values_list("pk", "owner_id")) if unknown else {}
    for row in missing:
        cached = row._state.fields_cache.get("project")
        row.owner_id = cached.owner_id if cached is not None else owners.get(row.project_id)


class _OwnerCopiedQuerySet(OwnedQuerySet):
    owner_path = "owner"

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        fill_owners(objs)
        return super().bulk_create(objs, *args, **kwargs)


# The columns ProjectTaskCount depends on: a write of any of them keeps the counts.
_COUNTED = frozenset({"status", "project", "project_id"})


class PublishingTaskQuerySet(_OwnerCopiedQuerySet):
    """Every bulk write keeps ``ProjectTaskCount`` in its transaction (``publishing.task_counts``)."""

    def update(self, **kwargs):
        if not _COUNTED & kwargs.keys():
            return super().update(**kwargs)
        from publishing import task_counts

        with transaction.atomic(using=self.db):
            # Locked in id order, so what is counted is what the UPDATE below changes.
            rows = list(self.select_for_update().order_by("pk").values_list("pk", "project_id", "status"))
            if not rows:
                return 0
            updated = super(PublishingTaskQuerySet, self.filter(pk__in=[pk for pk, _, _ in rows])).update(**kwargs)
            project = kwargs.get("project_id", kwargs.get("project"))
            project = getattr(project, "pk", project)
            status = kwargs.get("status")
            if isinstance(status, str | type(None)) and isinstance(project, int | type(None)):
                before = [(p, s) for _, p, s in rows]
                after = [(project if project is not None else p, status or s) for _, p, s in rows]
                task_counts.apply(task_counts.moved(before, after))
            else:  # an expression: count again
                task_counts.recount({p for _, p, _ in rows} | ({project} if isinstance(project, int) else set()))
        return updated

    def bulk_create(self, objs, *args, **kwargs):
        from publishing import task_counts

        objs = list(objs)
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts") or args[1:]:
                task_counts.recount({obj.project_id for obj in objs})
            else:
                task_counts.apply(task_counts.moved([], [(obj.project_id, obj.status) for obj in created]))
        return created

    def delete(self):
        from publishing import task_counts

        with transaction.atomic(using=self.db):
            before = list(self.select_for_update().order_by("pk").values_list("project_id", "status"))
            result = super().delete()
            task_counts.apply(task_counts.moved(before, []))
        return result


class PublishingTask(models.Model):
    """One post to publish. What is encrypted at rest, decided per column:

    - ``content_data`` (the caption, alt text and where the media is): kept in clear. A
      caption is written to be posted publicly on X, and it is read in bulk where encryption
      would cost most: the queue page and API list it, scans insert it by the thousand, and
      the duplicate check matches it. What in publishing is secret is the X credentials and a
      source's credential, which are encrypted (``Project``, ``ContentSource``).
    - ``content_hash``: a plain SHA-256 of the normalised text, not keyed: the duplicate check
      (``publishing.duplicates``) matches it, and it reveals nothing the clear caption does not.
    - ``media_path``: a file name, a feed entry or a Drive id, needed for the unique key.
    A message of a dead man's switch is the opposite case: its text and its recipients'
    addresses are encrypted (``messaging.models``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        LOCKED = "locked", _("Publishing")
        SUCCESS = "success", _("Published")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        # An earlier attempt may have posted it and X cannot refuse a copy (no text): the
        # owner checks X and decides (publishing.holds).
        HELD = "held", _("Held: check X")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("project"))
    # The project's owner, copied (fill_owners); served by the ix_tasks_owner_* indexes.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="publishing_tasks",
        db_index=False,
        verbose_name=_("owner"),
    )
    source = models.ForeignKey(
        ContentSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks", verbose_name=_("source")
    )
    # Evergreen: marked by the owner on a published post; a copy is queued every
    # Project.evergreen_after_days (evergreen_of points a copy at its original).
    evergreen = models.BooleanField(_("evergreen"), default=False)
    evergreen_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="evergreen_copies",
        editable=False,
        verbose_name=_("copy of"),
    )
    # 500 characters keeps (project_id, media_path) inside InnoDB's 3072-byte key limit in utf8mb4.
    media_path = models.CharField(_("media path"), max_length=500)
    # {"text": ..., "alt_text": ..., "media": {"kind": "file", "path": ...} | {"kind": "gdrive", ...}
    # | {"kind": "url", "url": ..., "mime_type": ...} (a feed enclosure) | null}
    content_data = models.JSONField(default=dict, verbose_name=_("content data"))
    status = models.CharField(_("status"), max_length=50, choices=Status.choices, default=Status.PENDING)
    scheduled_at = models.DateTimeField(_("scheduled for"))
    priority = models.IntegerField(_("priority"), default=0)  # higher first
    retry_count = models.PositiveIntegerField(default=0, verbose_name=_("retry count"))
    version = models.PositiveIntegerField(
        default=1, verbose_name=_("version")
    )  # optimistic lock: bumped by every state change
    locked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("locked at"))
    locked_by = models.CharField(max_length=100, blank=True, verbose_name=_("locked by"))
    lease_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("lease expires at"))
    maybe_posted = models.BooleanField(default=False, verbose_name=_("may already be posted"))
    # A thread (publishing.threads): the replies are ThreadReply rows, posted after this one,
    # each in reply to the one before. posted_id is this post's id on X, written the moment
    # X answers (before the task is finished), so a thread resumed after a failure never
    # posts its first post again.
    reply_count = models.PositiveSmallIntegerField(default=0, verbose_name=_("replies in the thread"))
    # Up to 255: a Bluesky post is known by its at:// URI and CID ("<uri> <cid>").
    posted_id = models.CharField(max_length=255, blank=True, verbose_name=_("post id"))
    # The network account this copy goes to (publishing.fanout); empty: the project's X, as
    # every task before issue 19.
    account = models.ForeignKey(
        "publishing.NetworkAccount",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
        verbose_name=_("account"),
    )
    # X would refuse the text (publishing.x_text): a source's caption that does not fit is
    # queued failed with this flag, for its owner to edit, never posted cut or refused.
    too_long = models.BooleanField(default=False, verbose_name=_("too long for X"))
    # sha256 of the normalised text / of the media bytes, for the duplicate check.
    content_hash = models.CharField(max_length=64, blank=True, verbose_name=_("content hash"))
    media_hash = models.CharField(max_length=64, blank=True, verbose_name=_("media hash"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    published_at = models.DateTimeField(null=True, blank=True, verbose_name=_("published at"))
    created_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = PublishingTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("publishing task")
        verbose_name_plural = _("publishing tasks")
        ordering = ["-priority", "scheduled_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "media_path"], name="uniq_task_project_media_path"),
        ]
        indexes = [
            # The evergreen sweep: a project's evergreen posts, oldest first (publishing.evergreen).
            models.Index(fields=["project", "evergreen", "published_at"], name="ix_tasks_project_evergreen"),
            # The seed's index: due counts and the queue page's status filter.
            models.Index(fields=["status", "scheduled_at", "priority"], name="ix_tasks_status_sched_prio"),
            # The claim reads pending rows in priority order; with this index it stops after
            # LIMIT rows instead of sorting (and, under FOR UPDATE, locking) every due row.
            models.Index(fields=["status", "-priority", "scheduled_at"], name="ix_tasks_claim_order"),
            models.Index(fields=["status", "lease_expires_at"], name="ix_tasks_lease"),
            models.Index(fields=["project", "content_hash"], name="ix_tasks_project_content"),
            models.Index(fields=["project", "media_hash"], name="ix_tasks_project_media"),
            models.Index(fields=["project", "scheduled_at"], name="ix_tasks_project_sched"),
            # The queue's status filter in its order, and the per-status counts of the
            # project list and page, read from the index alone.
            models.Index(fields=["project", "status", "scheduled_at"], name="ix_tasks_project_status"),
            # The queue page and the tasks API, newest first, with and without a status filter.
            models.Index(fields=["owner", "-scheduled_at", "-id"], name="ix_tasks_owner_sched"),
            models.Index(fields=["owner", "status", "-scheduled_at", "-id"], name="ix_tasks_owner_status"),
            # The claim of the network accounts' copies (queue.task_claim_due with accounts); serves the FK.
            models.Index(fields=["account", "status", "scheduled_at"], name="ix_tasks_account_claim"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.media_path}"

    def save(self, *args, **kwargs):
        fill_owners([self])
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not _COUNTED & set(update_fields):
            super().save(*args, **kwargs)
            return
        from publishing import task_counts

        with transaction.atomic():
            before = self._counted_row()
            super().save(*args, **kwargs)
            task_counts.apply(task_counts.moved(before, [(self.project_id, self.status)]))

    def delete(self, *args, **kwargs):
        from publishing import task_counts

        with transaction.atomic():
            before = self._counted_row()
            result = super().delete(*args, **kwargs)
            task_counts.apply(task_counts.moved(before, []))
        return result

    def _counted_row(self) -> list[tuple[int, str]]:
        """The stored (project, status) of this task, locked; empty before it is inserted."""
        if self.pk is None:
            return []
        return list(
            PublishingTask._base_manager.select_for_update().filter(pk=self.pk).values_list("project_id", "status")
        )

    @property
    def origin_label(self) -> str:
        """The item key as the queue shows it: a file's name (its folder is the source's), a
        feed entry or Drive file; nothing for a key the API generated (``api:`` + 32 hex
        digits), which means nothing to a person."""
        if GENERATED_KEY.fullmatch(self.media_path):
            return ""
        return self.media_path.rsplit("/", 1)[-1] if self.media_path.startswith("/") else self.media_path

    @property
    def text(self) -> str:
        return (self.content_data or {}).get("text", "")

    # The states each queue action accepts (services.task_cancel / task_retry / task_reschedule,
    # holds.task_post_anyway / task_mark_posted); the queue page offers an action only where
    # its service would take it.
    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.FAILED, self.Status.HELD)

    @property
    def is_held(self) -> bool:
        return self.status == self.Status.HELD

    @property
    def is_published(self) -> bool:  # evergreen.evergreen_mark takes these
        return self.status == self.Status.SUCCESS

    @property
    def is_retryable(self) -> bool:
        return self.status in (self.Status.FAILED, self.Status.CANCELLED)

    @property
    def is_movable(self) -> bool:
        return self.status == self.Status.PENDING


class ThreadReplyQuerySet(OwnedQuerySet):
    owner_path = "task__owner"


class ThreadReply(models.Model):
    """One reply of a thread: post ``position`` (1 is the first reply), in reply to the one before.

    ``posted_id`` is set once X has it (``publishing.threads.thread_record``); a resumed
    thread skips every reply that has one and answers the last of them.
    """

    task = models.ForeignKey(PublishingTask, on_delete=models.CASCADE, related_name="replies", verbose_name=_("task"))
    position = models.PositiveSmallIntegerField(_("position"))
    # {"text": ..., "media_items": [{"kind": "file", "path": ..., "alt_text": ...}, ...]}
    content_data = models.JSONField(default=dict, verbose_name=_("content data"))
    posted_id = models.CharField(max_length=255, blank=True, verbose_name=_("post id"))
    posted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("posted at"))

    objects = ThreadReplyQuerySet.as_manager()

    class Meta:
        verbose_name = _("thread reply")
        verbose_name_plural = _("thread replies")
        ordering = ["task_id", "position"]
        constraints = [models.UniqueConstraint(fields=["task", "position"], name="uniq_reply_task_position")]

    def __str__(self) -> str:
        return f"#{self.task_id}.{self.position}"

    @property
    def text(self) -> str:
        return (self.content_data or {}).get("text", "")


class PublishingLogQuerySet(_OwnerCopiedQuerySet):
    pass


class ProjectTaskCount(models.Model):
    """How many of a project's tasks are in one status; kept by ``publishing.task_counts``."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="task_counts")
    status = models.CharField(max_length=50, choices=PublishingTask.Status.choices)
    tasks = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "status"], name="uniq_task_count_project_status"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.status}: {self.tasks}"


class PublishingLog(models.Model):
    class Status(models.TextChoices):
        SUCCESS = "success", _("Published")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class ErrorKind(models.TextChoices):
        NONE = "", _("None")
        RATE_LIMIT = "rate_limit", _("Rate limited")
        AUTH = "auth", _("Credentials rejected")
        DUPLICATE = "duplicate", _("Duplicate")
        MEDIA = "media", _("Media rejected")
        SERVER = "server", _("X server error")
        NETWORK = "network", _("Network error")
        OTHER = "other", _("Other")

    # No index of its own: ix_logs_task_published starts with task and serves the FK.
    task = models.ForeignKey(
        PublishingTask, on_delete=models.CASCADE, related_name="logs", db_index=False, verbose_name=_("task")
    )
    # The task's project, copied so the owner's lists filter and sort on one table
    # (ix_logs_project_published); every writer sets it from the task.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="logs", db_index=False, verbose_name=_("project")
    )
    # And its owner (fill_owners): the owner's lists read ix_logs_owner_published alone.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="publishing_logs",
        db_index=False,
        verbose_name=_("owner"),
    )
    tweet_id = models.CharField(max_length=255, blank=True, verbose_name=_("post id"))
    tweet_content = models.TextField(blank=True, verbose_name=_("post text"))
    published_at = models.DateTimeField(default=timezone.now, verbose_name=_("published at"))
    status = models.CharField(max_length=50, choices=Status.choices, verbose_name=_("status"))
    error_kind = models.CharField(
        max_length=20, choices=ErrorKind.choices, default=ErrorKind.NONE, blank=True, verbose_name=_("error kind")
    )
    error_message = models.TextField(blank=True, verbose_name=_("error message"))
    duration_seconds = models.FloatField(default=0.0, verbose_name=_("duration (seconds)"))
    dry_run = models.BooleanField(default=False, verbose_name=_("dry run"))

    objects = PublishingLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("publishing log")
        verbose_name_plural = _("publishing logs")
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["task", "published_at"], name="ix_logs_task_published"),
            # A project's rows newest first (the project filter, the analytics); also serves the FK.
            models.Index(fields=["project", "-published_at", "-id"], name="ix_logs_project_published"),
            # The logs page and API: the owner's rows newest first.
            models.Index(fields=["owner", "-published_at", "-id"], name="ix_logs_owner_published"),
            # The admin's search: an exact tweet id.
            models.Index(fields=["tweet_id"], name="ix_logs_tweet"),
            # Starts with published_at for purge and the hourly aggregation, and covers every
            # column the aggregation reads, so it never touches the table rows.
            models.Index(
                fields=["published_at", "task", "status", "error_kind", "duration_seconds"],
                name="ix_logs_published_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} #{self.task_id} {self.published_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        fill_owners([self])
        super().save(*args, **kwargs)


from publishing.account_models import MastodonApp, NetworkAccount  # noqa: E402,F401  (Mastodon and Bluesky accounts)
from publishing.alert_models import PublishingAlert  # noqa: E402,F401  (the alerts' outbox)
