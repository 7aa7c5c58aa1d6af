"""The owner's own contacts (beyond the account e-mail) and each contact's part of each warning.

``OwnerContact`` is an address the owner added to be warned on: another e-mail, an SMS
number, a Telegram chat, or a webhook/push URL (an ntfy topic, for example). Like a
recipient's contact, the address is encrypted at rest and found by a keyed hash of its
normalised form (``address_hash``). A contact is used for warnings only once it is
verified (``verified_at``): by a code sent to it (``code_hash``, an HMAC of the code), or for
Telegram by the bot receiving ``/start <token>`` from the chat (the same column holds the
token's hash). ``failing_since`` is set when the far end refused it for good (the address
is gone) and cleared when it accepts a send again.

``WarningSend`` is one contact's part of one warning: the message, the warning level and the
cycle (``cycle_started_at``: a reset starts a new one), and the contact (``contact_key``:
``account`` for the account e-mail, ``c<id>`` for an ``OwnerContact``). It is the record the
escalation reads (``messaging.escalation``): a contact that accepted a warning is never sent
it again, and "every contact refused this warning for good since …" is read from these rows.
The send itself is claimed and leased on the message's warning outbox (``messaging.notices``),
the one claim mechanism of warnings; these rows only record each contact's outcome.
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

ACCOUNT_KEY = "account"  # WarningSend.contact_key of the account e-mail


class OwnerContactQuerySet(OwnedQuerySet):
    owner_path = "owner"

    def verified(self) -> OwnerContactQuerySet:
        return self.filter(verified_at__isnull=False)

    def working(self) -> OwnerContactQuerySet:
        """Verified and not refused for good at the last try."""
        return self.verified().filter(failing_since__isnull=True)


class OwnerContactAddressHash(KeyedHashField):
    """The keyed hash of the contact's normalised address (kind + address)."""

    sources = ("kind", "address")

    def digest(self, instance) -> str:
        from messaging.owner_contacts import address_key  # the one normaliser

        return lookup_hash(f"owner-contact:{instance.kind}:{address_key(instance.kind, instance.address)}")


class OwnerContact(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")
        TELEGRAM = "telegram", _("Telegram")
        PUSH = "push", _("webhook or push URL")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owner_contacts", verbose_name=_("owner")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=100, blank=True, default="")
    # Empty for a Telegram contact until the bot hears /start from its chat (then the chat id).
    address = EncryptedTextField(_("address"), blank=True, default="")
    address_hash = OwnerContactAddressHash(_("address hash"))
    # Warnings from this level on go to this contact (the account e-mail gets every one).
    first_level = models.PositiveSmallIntegerField(
        _("warnings from level"), default=3, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True, editable=False)
    code_hash = models.CharField(_("code hash"), max_length=64, blank=True, default="", editable=False)
    code_sent_at = models.DateTimeField(_("code sent"), null=True, blank=True, editable=False)
    failing_since = models.DateTimeField(_("refused for good since"), null=True, blank=True, editable=False)
    failing_error = models.CharField(_("last refusal"), max_length=500, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("added"), default=timezone.now, editable=False)

    objects = OwnerContactQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("owner contact")
        verbose_name_plural = _("owner contacts")
        indexes = [
            models.Index(fields=["owner", "created_at", "id"], name="owner_contact_owner_idx"),
            models.Index(fields=["code_hash"], name="owner_contact_code_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_level__gte=1, first_level__lte=5), name="owner_contact_level_1_5"
            ),
        ]

    def __str__(self) -> str:
        # Never the address: __str__ ends up in admin lists and logs.
        return f"{self.get_kind_display()} contact #{self.pk}"

    @property
    def key(self) -> str:
        return f"c{self.pk}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class WarningSend(models.Model):
    class State(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        RETRYING = "retrying", _("failed, retried")  # FailureKind.TRANSIENT / CRASH
        REFUSED = "refused", _("refused for good")  # FailureKind.PERMANENT

    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="warning_sends", verbose_name=_("message")
    )
    level = models.PositiveSmallIntegerField(_("warning level"))
    cycle_started_at = models.DateTimeField(_("cycle started at"))
    contact = models.ForeignKey(
        OwnerContact,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="warning_sends",
        verbose_name=_("contact"),
    )
    contact_key = models.CharField(_("contact key"), max_length=24)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error_kind = models.CharField(_("failure kind"), max_length=10, blank=True, default="")
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    # Since when every attempt for this warning was refused for good (cleared by any other outcome).
    permanent_since = models.DateTimeField(_("refused for good since"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("warning send")
        verbose_name_plural = _("warning sends")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "level", "cycle_started_at", "contact_key"], name="warning_send_once"
            ),
        ]

    def __str__(self) -> str:
        return f"warning {self.level} of message {self.message_id} to {self.contact_key} ({self.state})"
