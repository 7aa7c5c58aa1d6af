"""The alert incidents of a project: one row per incident, which is also the outbox of its alert.

The rules (when an incident opens and ends) are in ``publishing.alerts``; this is the data.
"Once per incident" is the database's job, not a check in Python: ``open_marker`` is ``True``
while the incident is open and ``NULL`` once it is resolved, and (project, kind, key,
open_marker) is unique. NULLs never collide in a unique index (MariaDB, MySQL, SQLite,
PostgreSQL alike), so a project keeps any number of resolved incidents of a kind and at
most one open one, whichever process or thread opens it. (A partial unique index, "unique
where resolved_at is null", would say the same, but MariaDB has none.)
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site import leases
from cradle_site.querysets import OwnedQuerySet


class AlertQuerySet(OwnedQuerySet):
    owner_path = "project__owner"


class PublishingAlert(models.Model):
    class Kind(models.TextChoices):
        POST_FAILED = "post_failed", _("A post failed for good")
        CREDENTIALS_REJECTED = "credentials_rejected", _("X rejected the credentials")
        SOURCE_FAILING = "source_failing", _("A source keeps failing")
        QUEUE_RUNNING_DRY = "queue_running_dry", _("The queue is running dry")

    class State(models.TextChoices):  # the alert's delivery, not the incident
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        # Resolved before it could be sent (the condition passed): nothing to tell.
        SKIPPED = "skipped", _("not sent (resolved first)")

    project = models.ForeignKey(
        "publishing.Project", on_delete=models.CASCADE, related_name="alerts", verbose_name=_("project")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    # What the incident is about inside the project: "" for the project itself, "source:<id>".
    key = models.CharField(_("concerns"), max_length=100, blank=True, default="")
    detail = models.TextField(_("detail"), blank=True, default="")
    open_marker = models.BooleanField(null=True, default=True, editable=False, verbose_name=_("open incident"))
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    notified_at = models.DateTimeField(_("notified"), null=True, blank=True)

    # The outbox: each channel is marked when it went, so a retry sends only what is missing.
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    email_sent_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)
    webhook_sent_at = models.DateTimeField(_("webhook sent"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(fields=["project", "kind", "key", "open_marker"], name="uniq_alert_open_incident")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="ix_alert_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.project_id}{' ' + self.key if self.key else ''})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


ALERT_LEASE = leases.Lease(
    model=PublishingAlert,
    state_field="state",
    free=PublishingAlert.State.PENDING,
    held=PublishingAlert.State.SENDING,
    due_field="next_attempt_at",
    lease_field="lease_until",
    seconds_setting="PUBLISHING_ALERT_LEASE_SECONDS",
    order_by=("next_attempt_at", "id"),
)
