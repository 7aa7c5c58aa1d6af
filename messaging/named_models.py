"""What "you are named" stores: one row per notice telling a recipient they are named.

A ``NamedNotice`` is both the job's row (claimed and sent like a delivery: ``NAMED_LEASE``,
``cradle_site.leases``) and the confirm link it carries. The token is 256 random bits and
the table keeps its keyed hash (``token_hash``); until the notice has gone out the token is
also kept Fernet-encrypted (``pending_token``) so a retry carries the same link, and the
column is emptied in the transaction that records the send (as ``DeliveryLink`` does).

A notice names its recipient by message and address (``contact_hash``), not by the
recipient's row: ``message_update`` writes the recipient rows again, and a link already in
the recipient's mailbox must still confirm that address. An edit that drops or changes the
address leaves the notice without a recipient: the job cancels it, the link says it is gone.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site import leases
from cradle_site.fields import EncryptedTextField
from cradle_site.querysets import OwnedQuerySet


class NamedStatus(models.TextChoices):
    """Where "you are named" stands for a recipient, as the owner's page and the API say it."""

    NOT_ASKED = "not_asked", _("not asked")
    QUEUED = "queued", _("waiting to be sent")
    ASKED = "asked", _("asked, not confirmed yet")
    CONFIRMED = "confirmed", _("confirmed")
    FAILED = "failed", _("this address does not work")


class NamedNoticeQuerySet(OwnedQuerySet):
    owner_path = "message__owner"


class NamedNotice(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("refused for good")
        CANCELLED = "cancelled", _("cancelled")

    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="named_notices", verbose_name=_("message")
    )
    contact_hash = models.CharField(_("contact hash"), max_length=64, editable=False)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    pending_token = EncryptedTextField(_("token until sent"), blank=True, default="", editable=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True, default="")
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True, editable=False)

    objects = NamedNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("named notice")
        verbose_name_plural = _("named notices")
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="named_notice_due_idx"),
            models.Index(fields=["message", "contact_hash"], name="named_notice_address_idx"),
        ]

    def __str__(self) -> str:
        return f"Named notice #{self.pk} (message {self.message_id})"


NAMED_LEASE = leases.Lease(
    model=NamedNotice,
    state_field="state",
    free=NamedNotice.State.PENDING,
    held=NamedNotice.State.SENDING,
    due_field="next_attempt_at",
    lease_field="lease_until",
    seconds_setting="MESSAGING_SEND_LEASE_SECONDS",
    order_by=("next_attempt_at", "id"),
)
