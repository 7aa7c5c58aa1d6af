"""Trusted contacts with a veto window: who may ask for a message early, and each time they asked.

- ``TrustedContact``: a person the owner names (a name and an e-mail address). The address is
  encrypted at rest and found by a keyed hash of its normalised form (``email_hash``), as a
  recipient's contact is. The contact's personal page (``/t/<token>/``) is opened with a token
  of 256 random bits sent once, in the verification e-mail; the table keeps only its keyed hash
  (``token_hash``). Opening the link and pressing "Confirm" verifies the contact
  (``verified_at``); only a verified contact can ask for access or pause. ``wait_days`` (1-30)
  is the owner's veto window for this contact's requests. ``paused_at`` records the one pause
  a contact may start (LastSignal's "pause once").
- ``TrustedAccess``: per message, what a granted request does: nothing (no row, or ``off``),
  deliver to the message's recipients early, or deliver to the trusted contact only.
- ``AccessRequest``: one request by one contact: ``requested_at``, ``grant_at`` (requested_at +
  the contact's wait, fixed when asked: changing the wait later does not move it), the state
  (pending -> refused by the owner | granted by the job) and when it was decided. One pending
  request per contact at a time: ``messaging.trusted`` checks it under the contact's row lock
  (MariaDB has no partial unique index).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site.crypto import lookup_hash
from cradle_site.fields import EncryptedTextField, KeyedHashField
from cradle_site.querysets import OwnedQuerySet

WAIT_DAYS_MIN = 1
WAIT_DAYS_MAX = 30


def email_key(email: str) -> str:
    return email.strip().lower()


class TrustedEmailHash(KeyedHashField):
    """The keyed hash of the contact's normalised e-mail address."""

    sources = ("email",)

    def digest(self, instance) -> str:
        return lookup_hash(f"trusted-contact:{email_key(instance.email)}")


class TrustedContactQuerySet(OwnedQuerySet):
    owner_path = "owner"

    def verified(self) -> TrustedContactQuerySet:
        return self.filter(verified_at__isnull=False)


class TrustedContact(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_contacts", verbose_name=_("owner")
    )
    name = models.CharField(_("name"), max_length=100)
    email = EncryptedTextField(_("e-mail"))
    email_hash = TrustedEmailHash(_("e-mail hash"))
    wait_days = models.PositiveSmallIntegerField(
        _("waiting period (days)"),
        default=7,
        validators=[MinValueValidator(WAIT_DAYS_MIN), MaxValueValidator(WAIT_DAYS_MAX)],
    )
    token_hash = models.CharField(_("page token hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("added"), default=timezone.now, editable=False)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True, editable=False)
    paused_at = models.DateTimeField(_("used their pause"), null=True, blank=True, editable=False)

    objects = TrustedContactQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("trusted contact")
        verbose_name_plural = _("trusted contacts")
        constraints = [models.UniqueConstraint(fields=["owner", "email_hash"], name="trusted_contact_owner_email")]

    def __str__(self) -> str:
        # Never the address: __str__ ends up in admin lists and logs.
        return f"Trusted contact #{self.pk}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class TrustedAccessQuerySet(OwnedQuerySet):
    owner_path = "message__owner"


class TrustedAccess(models.Model):
    class Mode(models.TextChoices):
        OFF = "off", _("off: trusted contacts cannot ask for this message")
        RECIPIENTS = "recipients", _("deliver it early to its recipients")
        CONTACT = "contact", _("deliver it to the trusted contact only")

    message = models.OneToOneField(
        "messaging.Message",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="trusted_access",
        verbose_name=_("message"),
    )
    mode = models.CharField(_("trusted access"), max_length=12, choices=Mode.choices, default=Mode.OFF)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    objects = TrustedAccessQuerySet.as_manager()

    class Meta:
        verbose_name = _("trusted access")
        verbose_name_plural = _("trusted access settings")

    def __str__(self) -> str:
        return f"Trusted access of message {self.message_id} ({self.mode})"


class AccessRequestQuerySet(OwnedQuerySet):
    owner_path = "owner"

    def pending(self) -> AccessRequestQuerySet:
        return self.filter(state=AccessRequest.State.PENDING)


class AccessRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("waiting for the owner")
        REFUSED = "refused", _("refused by the owner")
        GRANTED = "granted", _("granted")

    # The owner as well as the contact: every owner-scoped list and the job read it without a join.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests", verbose_name=_("owner")
    )
    contact = models.ForeignKey(
        TrustedContact, on_delete=models.CASCADE, related_name="requests", verbose_name=_("trusted contact")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    grant_at = models.DateTimeField(_("granted if not refused by"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    # Granted: how many messages it moved to delivery (0: none was left to deliver).
    messages_granted = models.PositiveIntegerField(_("messages delivered early"), default=0)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        indexes = [models.Index(fields=["state", "grant_at"], name="access_request_due_idx")]

    def __str__(self) -> str:
        return f"Access request #{self.pk} ({self.state})"
