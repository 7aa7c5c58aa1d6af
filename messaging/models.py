"""Cradle messages: the seed's Message / Recipient / StatusLog, plus delivery and staff alarm records.

Differences from the seed, on purpose:
- ``title`` and ``content`` are Fernet-encrypted at rest (``EncryptedTextField``).
- The revocation key is stored only as a SHA-256 hash (``revocation_key_hash``); the key
  itself is 256 random bits, shown once at creation, so a fast hash is enough.
- ``state`` says where the message is beyond the ladder (delivering / delivered /
  revoked); ``is_active`` stays as in the seed and is true only while the ladder runs.
- ``cycle_started_at`` and ``last_warning_at`` keep the facts the ladder is timed from:
  each step is timed from when the previous warning was actually sent, never from the
  creation date, so a stopped cluster can never compress the ladder.
- ``Delivery`` is one row per recipient (unique), so each recipient gets the message once
  and a failing channel is retried and visible; ``StaffAlarm`` is the outbox for the e-mail
  to staff (``ADMINS``) about a delivery that needs a person: refused for good, or not sent
  within ``MESSAGING_DELIVERY_ALARM_HOURS``. Not to the owner: by the time a message is
  delivered, the owner is, by design, not there to read it. The warning e-mail's outbox is
  three columns on Message (``warning_email_*``), written by the sweep's own UPDATE.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site import leases, webhooks
from cradle_site.fields import EncryptedTextField, KeyedHashField
from cradle_site.querysets import OwnedQuerySet

MAX_LEVEL = 5


class MessageQuerySet(OwnedQuerySet):
    owner_path = "owner"

    def due(self, now=None) -> MessageQuerySet:
        """Active messages whose next step is due (served by ``msg_sweep_outbox_idx``).

        A message whose last warning e-mail is still waiting to go out (SMTP down) is not
        due: the ladder never moves past a warning the owner has not been sent.
        """
        now = now or timezone.now()
        # A pause in force already moved next_warning_date past its end (messaging.pauses);
        # repeated here so that no step can ever be taken while one is in force.
        return self.filter(
            models.Q(paused_until__isnull=True) | models.Q(paused_until__lte=now),
            state=Message.State.ACTIVE,
            next_warning_date__lte=now,
            warning_email_due_at__isnull=True,
        )

    def warning_email_failing(self) -> MessageQuerySet:
        """Messages whose warning e-mail failed at least once and still waits to go out."""
        return self.filter(state=Message.State.ACTIVE, warning_email_due_at__isnull=False, warning_email_attempts__gt=0)


class Message(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        DELIVERING = "delivering", _("delivering")
        DELIVERED = "delivered", _("delivered")
        REVOKED = "revoked", _("revoked")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages", verbose_name=_("owner")
    )
    title = EncryptedTextField(_("title"), blank=True, default="")
    # The message text lives in MessageBody: the sweep rewrites this row at every step,
    # and a row that carries kilobytes of ciphertext makes every step touch more pages
    # (measured on MariaDB: 2 KB messages sweep 2.4x slower when the text is inline).
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    initial_delay_months = models.PositiveSmallIntegerField(_("initial delay (months)"), default=6)
    cycle_started_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("cycle started at"))
    next_warning_date = models.DateTimeField(_("next step"))
    warning_level = models.PositiveSmallIntegerField(_("warning level"), default=0)
    last_warning_at = models.DateTimeField(_("last warning"), null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.ACTIVE)
    revocation_key_hash = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("revocation key hash")
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("revoked at"))
    # The outbox for the owner's warning e-mail, kept on the row so the sweep queues it in
    # the same UPDATE that raises the level (no extra insert per message): set to when it
    # is due, moved forward while a sender holds it, cleared once sent or no longer wanted.
    warning_email_due_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("warning e-mail due at")
    )
    warning_email_attempts = models.PositiveSmallIntegerField(
        default=0, editable=False, verbose_name=_("warning e-mail attempts")
    )
    warning_email_error = models.CharField(
        max_length=500, blank=True, default="", editable=False, verbose_name=_("warning e-mail error")
    )
    # Set while a sender is talking to the relay about this warning (until the send's own
    # deadline): a reset then waits for the send, or says "try again", rather than commit
    # while a warning of the cycle it ends is still on its way (messaging.notices).
    warning_email_sending_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("warning e-mail being sent until")
    )
    delivered_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("delivered at"))
    # Opt-in: a log-in of the owner or an API call with their key counts as "I'm still here"
    # for this message (messaging.activity). Off by default: only the owner knows whether
    # their log-ins prove they are alive (a shared or saved session may log in for them).
    activity_resets = models.BooleanField(_("activity counts as a check-in"), default=False)
    # The ladder (messaging.ladder): empty = the seed's (initial_delay_months + MESSAGING_LADDER_DAYS);
    # else a preset's name or "custom", with its offsets in seconds ([first, after warning 1, ...]).
    ladder_preset = models.CharField(_("warning schedule"), max_length=20, blank=True, default="")
    ladder_seconds = models.JSONField(_("warning schedule (seconds)"), null=True, blank=True)
    # While a pause is in force (messaging.pauses): no warning and no delivery before this time.
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True, editable=False)
    # Overrides each contact's own "warnings from level" for this message: from this level on,
    # every verified contact of the owner is warned (None: each contact's setting; see
    # messaging.escalation). The account e-mail gets every warning either way.
    contacts_from_level = models.PositiveSmallIntegerField(
        _("every contact warned from level"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_LEVEL)],
    )
    # Off for new messages: the notice carries a link to the delivery page, and the text stays
    # out of mailboxes. Rows from before the delivery page were created with it on (migration
    # 0017): their owners were promised the text in the e-mail and may not be there to choose.
    include_text_in_notice = models.BooleanField(_("include the text in the e-mail"), default=False)
    # None: attachments are kept until the message is deleted; otherwise deleted this many days
    # after delivery (messaging.attachments.attachments_purge).
    attachments_keep_days = models.PositiveSmallIntegerField(
        _("keep attachments for (days after delivery)"), null=True, blank=True
    )
    # Sealed (messaging.sealed): the body is an envelope the owner's browser encrypted with a
    # passphrase Cradle never receives; the hint is delivered in clear, the text never.
    sealed = models.BooleanField(_("sealed"), default=False)
    seal_hint = models.CharField(_("passphrase hint"), max_length=200, blank=True, default="")

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            # One index serves both jobs, so a sweep step rewrites one index entry, not two:
            # the sweep:  state = 'active' AND warning_email_due_at IS NULL AND next_warning_date <= now
            # the outbox: state = 'active' AND warning_email_due_at <= now
            models.Index(fields=["state", "warning_email_due_at", "next_warning_date"], name="msg_sweep_outbox_idx"),
            # The owner's lists (page, API, admin) walk this in their order: a keyset page reads its rows only.
            models.Index(fields=["owner", "-created_at", "-id"], name="message_owner_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(warning_level__gte=0, warning_level__lte=MAX_LEVEL), name="msg_level_0_5"
            ),
        ]

    def __str__(self) -> str:
        # Never the content: __str__ ends up in admin lists and logs.
        return f"Message #{self.pk}"

    @property
    def content(self) -> str:
        """The message text (one query unless fetched with ``select_related("body")``)."""
        return self.body.content

    @property
    def ladder_choice(self) -> str:
        """The seed's ladder, a preset's name, or "custom" (messaging.ladder)."""
        return self.ladder_preset or "seed"

    @property
    def ladder_steps_seconds(self) -> list[int]:
        """Every offset of this message's ladder in seconds: before warning 1, then after each warning."""
        from messaging.ladder import ladder_of  # it reads this model's vocabulary

        return ladder_of(self).as_seconds()

    @property
    def warnings_total(self) -> int:
        """How many warnings this message's ladder has (messaging.ladder)."""
        return len(self.ladder_seconds) - 1 if self.ladder_seconds else MAX_LEVEL

    @property
    def is_editable(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def is_revocable(self) -> bool:
        return self.state in (self.State.ACTIVE, self.State.DELIVERING)

    # For the pages, which cannot name the State members.
    @property
    def is_on_ladder(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def is_delivering(self) -> bool:
        return self.state == self.State.DELIVERING

    @property
    def is_revoked(self) -> bool:
        return self.state == self.State.REVOKED


class MessageBody(models.Model):
    """The encrypted text of a message, apart from the ladder columns the sweep rewrites."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, primary_key=True, related_name="body", verbose_name=_("message")
    )
    content = EncryptedTextField(_("content"))

    class Meta:
        verbose_name = _("message text")
        verbose_name_plural = _("message texts")

    def __str__(self) -> str:
        return f"text of message {self.message_id}"


class RecipientQuerySet(OwnedQuerySet):
    owner_path = "message__owner"

    def counts_by_message(self, message_ids: list[int]) -> dict[int, int]:
        """Recipients per message for the shown ids: one grouped query over those ids, never a
        GROUP BY over every message (a list counts only the rows it shows)."""
        rows = self.filter(message_id__in=message_ids).values("message_id").annotate(n=models.Count("id"))
        return dict(rows.values_list("message_id", "n"))


class ContactHashField(KeyedHashField):
    """The keyed hash of the recipient's normalised address (``messaging.contacts.contact_hash``)."""

    sources = ("contact_type", "contact")

    def digest(self, instance) -> str:
        from messaging.contacts import contact_hash  # it reads Recipient's vocabulary

        return contact_hash(instance.contact_type, instance.contact)


class WebhookSecretField(EncryptedTextField):
    """A webhook recipient's signing secret (``cradle_site.webhooks``); empty for the other channels.

    Filled in on the first save or bulk insert of a webhook recipient that has none, so every
    way a recipient is written (the services, a test, a migration's model) gives it one.
    """

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if model_instance.contact_type != Recipient.ContactType.WEBHOOK:
            value = ""
        elif not value:
            value = webhooks.new_secret()
        setattr(model_instance, self.attname, value)
        return value


class Recipient(models.Model):
    """Someone the message goes to.

    ``contact`` (an e-mail address, a phone number or a webhook URL) is encrypted at rest: who
    a dead man's switch will write to is as private as what it says. It is found by
    ``contact_hash``, a keyed hash of the normalised address (``messaging.contacts``): the sweep
    sends each address once, and staff search by an exact address. ``webhook_secret`` signs a
    webhook recipient's delivery (``cradle_site.webhooks``).
    """

    class ContactType(models.TextChoices):
        EMAIL = "email", _("e-mail")
        WEBHOOK = "webhook", _("webhook")
        SMS = "sms", _("SMS")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="recipients", verbose_name=_("message"))
    name = models.CharField(_("name"), max_length=100)
    # Encrypted, so no column length limits it: messaging.services.RECIPIENT_CONTACT_MAX_LENGTH does.
    contact = EncryptedTextField(_("contact"))
    contact_type = models.CharField(
        _("contact type"), max_length=20, choices=ContactType.choices, default=ContactType.EMAIL
    )
    contact_hash = ContactHashField(_("contact hash"))
    # Nullable only so that adding it to a big table was one instant ALTER (migration 0008).
    webhook_secret = WebhookSecretField(_("signing secret"), blank=True, null=True, default="", editable=False)
    # "You are named" (messaging.named): asked by the owner, per recipient, e-mail only. The
    # dates are the notice's story as the owner reads it; the job's rows are NamedNotice.
    tell_named = models.BooleanField(_("tell them they are named"), default=False)
    named_notice_sent_at = models.DateTimeField(_("told they are named"), null=True, blank=True, editable=False)
    named_confirmed_at = models.DateTimeField(_("address confirmed"), null=True, blank=True, editable=False)
    named_failed_at = models.DateTimeField(_("address refused"), null=True, blank=True, editable=False)
    named_failed_reason = models.CharField(
        _("why the address was refused"), max_length=300, blank=True, default="", editable=False
    )

    objects = RecipientQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        indexes = [models.Index(fields=["contact_hash"], name="recipient_contact_hash_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_contact_type_display()})"

    @property
    def named_status(self) -> str:
        """Where "you are named" stands (messaging.named), a ``NamedStatus``."""

        if self.named_confirmed_at:
            return NamedStatus.CONFIRMED
        if self.named_failed_at:
            return NamedStatus.FAILED
        if self.named_notice_sent_at:
            return NamedStatus.ASKED
        return NamedStatus.QUEUED if self.tell_named else NamedStatus.NOT_ASKED


class StatusLogQuerySet(OwnedQuerySet):
    owner_path = "message__owner"


class StatusLog(models.Model):
    class Status(models.TextChoices):
        WARNING_1 = "WARNING_1", _("first warning")
        WARNING_2 = "WARNING_2", _("second warning")
        WARNING_3 = "WARNING_3", _("third warning")
        WARNING_4 = "WARNING_4", _("fourth warning")
        WARNING_5 = "WARNING_5", _("final warning")
        WARNING_RESET = "WARNING_RESET", _("reset")
        CONTINUED = "CONTINUED", _("continued")
        REVOKED = "REVOKED", _("revoked")
        DELIVERED = "DELIVERED", _("delivered")
        DELIVERY_FAILED = "DELIVERY_FAILED", _("delivery attempt failed")
        PAUSED = "PAUSED", _("paused")
        PAUSE_ENDED = "PAUSE_ENDED", _("pause ended")
        # Every contact of the owner refused the same warning for good for the grace period:
        # the step counts as sent (messaging.escalation).
        OWNER_UNREACHABLE = "OWNER_UNREACHABLE", _("owner unreachable on every channel")
        LINK_OPENED = "LINK_OPENED", _("delivery page opened")
        LINK_SENT = "LINK_SENT", _("new delivery link sent")
        # Trusted contacts (messaging.trusted): a request, the owner's refusal, the grant.
        TRUSTED_REQUESTED = "TRUSTED_REQUESTED", _("trusted contact asked for access")
        TRUSTED_REFUSED = "TRUSTED_REFUSED", _("access request refused")
        TRUSTED_GRANTED = "TRUSTED_GRANTED", _("access request granted")

    class Response(models.TextChoices):
        RESET = "RESET", _("reset")
        CONTINUE = "CONTINUE", _("continue")

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="status_logs", verbose_name=_("message")
    )
    status = models.CharField(_("status"), max_length=50, choices=Status.choices)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # English, for the audit (admin, API); pages render ``data`` (messaging.history, messaging.log_text).
    details = models.TextField(_("details"), blank=True, default="")
    data = models.JSONField(_("data"), blank=True, default=dict)
    response = models.CharField(_("response"), max_length=20, choices=Response.choices, blank=True, default="")

    objects = StatusLogQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("status log")
        verbose_name_plural = _("status logs")

    def __str__(self) -> str:
        return f"{self.status} #{self.message_id}"

    @property
    def display_text(self) -> str:
        """The row in the reader's language and time zone, rendered from ``status`` + ``data``."""
        from messaging.log_text import log_text  # it reads the vocabularies defined here

        return log_text(status=self.status, data=self.data, details=self.details)

    @staticmethod
    def warning_status(level: int) -> StatusLog.Status:
        """The status of the log written when warning ``level`` (1 to MAX_LEVEL) is sent."""
        return WARNING_STATUSES[level]


WARNING_STATUSES = {
    1: StatusLog.Status.WARNING_1,
    2: StatusLog.Status.WARNING_2,
    3: StatusLog.Status.WARNING_3,
    4: StatusLog.Status.WARNING_4,
    5: StatusLog.Status.WARNING_5,
}


class DeliveryQuerySet(OwnedQuerySet):
    owner_path = "message__owner"

    def due(self, now=None) -> DeliveryQuerySet:
        return self.filter(
            state=Delivery.State.PENDING,
            next_attempt_at__lte=now or timezone.now(),
            message__state=Message.State.DELIVERING,
        )

    def overdue(self, now=None) -> DeliveryQuerySet:
        """Deliveries still trying after ``MESSAGING_DELIVERY_ALARM_HOURS``: a person should look."""
        since = (now or timezone.now()) - timedelta(hours=settings.MESSAGING_DELIVERY_ALARM_HOURS)
        return self.filter(
            state__in=[Delivery.State.PENDING, Delivery.State.SENDING],
            created_at__lte=since,
            message__state=Message.State.DELIVERING,
        )

    def refused(self) -> DeliveryQuerySet:
        """Deliveries refused for good, waiting for staff (retry, or revoke the message)."""
        return self.filter(state=Delivery.State.FAILED, message__state=Message.State.DELIVERING)

    def needing_staff(self, now=None) -> DeliveryQuerySet:
        """What raises the staff alarm: refused for good, or overdue."""
        return self.refused() | self.overdue(now)


class Delivery(models.Model):
    """The message's delivery to one recipient. ``recipient`` is unique: one row, one success."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        # Refused for good (messaging.channels.FailureKind.PERMANENT): not retried until staff
        # retry it. A transient failure never ends here: it stays pending at the back-off.
        FAILED = "failed", _("refused for good")
        CANCELLED = "cancelled", _("cancelled")

    recipient = models.OneToOneField(
        Recipient, on_delete=models.CASCADE, related_name="delivery", verbose_name=_("recipient")
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("message"))
    # The delivery id every attempt carries (the webhook-id header, the e-mail's Message-ID):
    # after an attempt whose outcome we could not know, the retry is recognisably the same
    # delivery, so the receiver can drop the copy. Random rather than the primary key, which
    # another Cradle, or this one restored from a backup, would hand out again.
    uid = models.UUIDField(_("delivery id"), default=uuid.uuid4, editable=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # While a worker sends, the row is "sending" until this time; after it, another may retry.
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))
    created_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("created at"))
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self) -> str:
        return f"Delivery #{self.pk} ({self.state})"


class StaffAlarm(models.Model):
    """Outbox for the e-mail to staff (``ADMINS``) about one delivery that needs a person.

    One per delivery (``delivery`` is unique), so an alarm is raised once however many
    minutes the condition lasts and however many workers see it. A refusal writes its
    alarm in the same transaction as the failure; an overdue delivery gets one from the
    alarm job. The e-mail is claimed before it is sent (``ALARM_LEASE``) and retried at the
    back-off until the relay takes it: an alarm about a mail outage must survive the outage.
    """

    class Reason(models.TextChoices):
        REFUSED = "refused", _("refused for good")
        OVERDUE = "overdue", _("not sent in time")
        # Not about a delivery: every contact of the message's owner refused a warning for good
        # for the grace period, and the ladder went on (messaging.escalation).
        UNREACHABLE = "unreachable", _("owner unreachable on every channel")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        # The delivery went out, or its message was revoked, before the e-mail could go: not sent.
        RESOLVED = "resolved", _("resolved before it was e-mailed")

    # Empty for an "owner unreachable" alarm, which is about a message's warning instead.
    delivery = models.OneToOneField(
        Delivery, on_delete=models.CASCADE, related_name="alarm", null=True, blank=True, verbose_name=_("delivery")
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="staff_alarms", null=True, blank=True, verbose_name=_("message")
    )
    level = models.PositiveSmallIntegerField(_("warning level"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))
    created_at = models.DateTimeField(_("raised"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("staff alarm")
        verbose_name_plural = _("staff alarms")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="alarm_due_idx")]

    def __str__(self) -> str:
        if self.delivery_id is None:
            return f"Alarm #{self.pk} {self.reason} (message {self.message_id})"
        return f"Alarm #{self.pk} {self.reason} (delivery {self.delivery_id})"


def _send_lease(model: type[Delivery] | type[StaffAlarm]) -> leases.Lease:
    """Deliveries and staff alarms are claimed alike: pending -> sending, with a lease (cradle_site.leases)."""
    return leases.Lease(
        model=model,
        state_field="state",
        free=model.State.PENDING,
        held=model.State.SENDING,
        due_field="next_attempt_at",
        lease_field="lease_until",
        seconds_setting="MESSAGING_SEND_LEASE_SECONDS",
        order_by=("next_attempt_at", "id"),
    )


DELIVERY_LEASE = _send_lease(Delivery)
ALARM_LEASE = _send_lease(StaffAlarm)


from messaging.checkin_models import CheckinLinkUse, PingToken  # noqa: E402,F401  (answers without a log-in)
from messaging.named_models import NAMED_LEASE, NamedNotice, NamedStatus  # noqa: E402,F401  ("you are named")
from messaging.owner_contact_models import OwnerContact, WarningSend  # noqa: E402,F401  (the owner's contacts)
from messaging.pause_models import Pause  # noqa: E402,F401  ("away until ...")
from messaging.recipient_models import Attachment, DeliveryLink  # noqa: E402,F401  (the recipients' side)
from messaging.trusted_models import AccessRequest, TrustedAccess, TrustedContact  # noqa: E402,F401  (veto window)
