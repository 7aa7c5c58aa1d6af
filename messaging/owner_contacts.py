"""Where the owner's warnings may go: the verified account e-mail and the verified owner contacts.

Promise 1 ("never early") counts a warning as sent only when one of the owner's *verified*
contacts accepted it. The account e-mail is the implicit first contact, verified through
the account's own link (``accounts.email_verification``); the others (``OwnerContact``:
another e-mail, SMS, Telegram, a webhook/push URL) are added here and verified by a code
sent to them (``contact_verify``) or, for Telegram, by the bot hearing ``/start <token>``
from the chat (``contact_verify_telegram``, ``messaging.telegram``). Until it is verified a
contact is never warned, and it can be removed at any time.

An owner with no verified contact at all (a new sign-up that has not opened its link, an
address staff changed) is *held*: the warning stays queued on the message
(``warning_email_due_at``), the ladder waits exactly as it does for a relay outage, and it is
looked at again after ``hold_seconds`` — or at once when the owner verifies any contact
(``accounts.signals.email_verified`` or ``contact_verify`` → ``warnings_release``). A held
warning is not "failing" (``/healthz?strict=1`` is for the relay, not for owners who have not
clicked a link): staff find them in the admin, and the owner's pages say so.

Verification codes are 6 digits, stored as an HMAC, valid ``MESSAGING_CONTACT_CODE_MINUTES``;
guesses are limited per contact (``RATE_LIMIT_CONTACT_VERIFY``) and codes sent per contact
(``RATE_LIMIT_CONTACT_CODE``) through the site's one rate limiter (``cradle_site.ratelimit``).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from accounts.identity import email_key
from accounts.signals import email_verified
from cradle_site import ratelimit
from cradle_site.audit_vocabulary import EventType
from cradle_site.ratelimit import Bucket, Rate
from cradle_site.text import validate_single_line
from messaging.channels import ChannelError, validate_contact
from messaging.contacts import contact_key
from messaging.models import Message, Recipient
from messaging.owner_contact_models import OwnerContact
from ops.audit import audit_record

CONTACTS_MAX = 10
LABEL_MAX_LENGTH = OwnerContact._meta.get_field("label").max_length
ADDRESS_MAX_LENGTH = 500
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class TooManyAttempts(Exception):
    """Past a rate limit; ``retry_after`` seconds until the next try is counted."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(_("Too many attempts. Please wait and try again."))
        self.retry_after = retry_after


def hold_seconds() -> int:
    # Verification releases the warnings at once; this is the safety net's pace (the capped back-off).
    return settings.MESSAGING_RETRY_MAX_SECONDS


def owner_can_be_warned(owner) -> bool:
    """The owner has at least one verified contact: the account e-mail or an owner contact."""
    return owner.email_verified_at is not None or OwnerContact.objects.filter(owner=owner).verified().exists()


def warnings_held(queryset=None):
    """Messages (of ``queryset``) whose queued warning waits for the owner to verify a contact."""
    return (
        (queryset if queryset is not None else Message.objects.all())
        .filter(state=Message.State.ACTIVE, warning_email_due_at__isnull=False, owner__email_verified_at__isnull=True)
        .exclude(owner__owner_contacts__verified_at__isnull=False)
    )


def warnings_release(*, owner, now: datetime | None = None) -> int:
    """Make the owner's held warnings due now (they verified a contact); return how many."""
    now = now or timezone.now()
    # Every queued row in the future is held, except one a sender is sending right now (it
    # checked the owner a moment before they verified): that one is left to its sender, or it
    # would go out twice. A sender that claimed one and has not started loses its lease here
    # (its compare-and-set finds this write) and the next run sends it, once.
    held = Message.objects.filter(owner=owner, state=Message.State.ACTIVE, warning_email_due_at__gt=now)
    return held.exclude(warning_email_sending_until__gt=now).update(warning_email_due_at=now)


@receiver(email_verified, dispatch_uid="messaging.owner_contacts.release")
def _on_email_verified(sender, user, **kwargs) -> None:
    warnings_release(owner=user)


# --- addresses -------------------------------------------------------------------------------


def address_key(kind: str, address: str) -> str:
    """The normalised address two contacts of one owner must not share (``messaging.contacts`` rules)."""
    if kind == OwnerContact.Kind.EMAIL:
        return contact_key(Recipient.ContactType.EMAIL, address)[1]
    if kind == OwnerContact.Kind.SMS:
        return contact_key(Recipient.ContactType.SMS, address)[1]
    if kind == OwnerContact.Kind.PUSH:
        return contact_key(Recipient.ContactType.WEBHOOK, address)[1]
    return (address or "").strip()


def telegram_available() -> bool:
    return bool(settings.TELEGRAM_BOT_TOKEN and settings.TELEGRAM_BOT_NAME)


def validate_address(kind: str, address: str) -> str:
    """The cleaned address for ``kind``, or ``ValidationError`` keyed ``address`` (``kind`` for Telegram)."""
    address = (address or "").strip()
    if kind not in OwnerContact.Kind.values:
        raise ValidationError({"kind": _("Choose e-mail, SMS, Telegram or a webhook/push URL.")})
    if kind == OwnerContact.Kind.TELEGRAM:
        if not telegram_available():
            raise ValidationError({"kind": _("Telegram is not available on this server (no bot is configured).")})
        return ""  # the chat id comes from the bot, when the owner opens the link
    if not address:
        raise ValidationError({"address": _("This field is required.")})
    if len(address) > ADDRESS_MAX_LENGTH:
        raise ValidationError({"address": _("At most %(n)s characters.") % {"n": ADDRESS_MAX_LENGTH}})
    try:
        validate_single_line(address)
        if kind == OwnerContact.Kind.EMAIL:
            validate_email(address)
        elif kind == OwnerContact.Kind.SMS:
            return validate_contact(Recipient.ContactType.SMS, address)
        else:
            return validate_contact(Recipient.ContactType.WEBHOOK, address)
    except ValidationError as exc:
        if kind == OwnerContact.Kind.EMAIL:
            raise ValidationError({"address": _("Enter a valid e-mail address.")}) from None
        raise ValidationError({"address": exc.messages[0]}) from None
    return address


def validate_first_level(value) -> int:
    try:
        level = int(value)
    except (TypeError, ValueError):
        level = 0
    if not 1 <= level <= 5:
        raise ValidationError({"first_level": _("Choose a warning level from 1 to 5.")})
    return level


# --- adding, verifying, removing -------------------------------------------------------------


def _code_hash(contact: OwnerContact, code: str) -> str:
    return salted_hmac("messaging.owner-contact.code", f"{contact.pk}\0{code}", algorithm="sha256").hexdigest()


def _token_hash(token: str) -> str:
    # 256 random bits: a keyed hash that allows an index lookup.
    return salted_hmac("messaging.owner-contact.telegram", token, algorithm="sha256").hexdigest()


def telegram_link(token: str) -> str:
    return f"https://t.me/{settings.TELEGRAM_BOT_NAME}?start={token}"


def contact_add(*, owner, kind: str, address: str = "", label: str = "", first_level=3) -> tuple[OwnerContact, str]:
    """Add an unverified contact and start its verification; return it with the Telegram link ("" otherwise).

    For e-mail, SMS and push a code is sent to the address (``contact_send_code``); a send that
    fails leaves the contact unverified, and the owner can ask for a new code.
    """
    label = _clean_label(label or "")
    level = validate_first_level(first_level)
    address = validate_address(kind, address)
    contacts = OwnerContact.objects.owned_by(owner)
    if contacts.count() >= CONTACTS_MAX:
        raise ValidationError({"kind": _("At most %(n)d contacts.") % {"n": CONTACTS_MAX}})
    if address:
        probe = OwnerContact(owner=owner, kind=kind, address=address)
        probe_hash = OwnerContact._meta.get_field("address_hash").digest(probe)
        same_as_account = kind == OwnerContact.Kind.EMAIL and email_key(address) == email_key(owner.email)
        if same_as_account or contacts.filter(address_hash=probe_hash).exists():
            raise ValidationError({"address": _("You already have this contact.")})
    with transaction.atomic():
        contact = OwnerContact.objects.create(owner=owner, kind=kind, address=address, label=label, first_level=level)
        _record(EventType.OWNER_CONTACT_ADDED, contact)
        link = _telegram_token_new(contact) if kind == OwnerContact.Kind.TELEGRAM else ""
    if link:
        return contact, link
    try:
        _send_code(contact)
    except (ChannelError, TooManyAttempts):
        pass  # the page shows it unverified, with "send a new code"
    return contact, ""


def _record(event_type: str, contact: OwnerContact, **data) -> None:
    # The kind and the row, never the address or a code (the audit log names, it does not copy).
    audit_record(
        event_type, user=contact.owner_id, obj=contact, label=str(contact), data={"kind": contact.kind, **data}
    )


def telegram_token_new(contact: OwnerContact) -> str:
    """A fresh deep link for ``contact`` (the previous one stops working); return the link."""
    with transaction.atomic():
        link = _telegram_token_new(contact)
        _record(EventType.OWNER_CONTACT_CODE_SENT, contact)
    return link


def _telegram_token_new(contact: OwnerContact) -> str:
    token = secrets.token_urlsafe(24)
    contact.code_hash = _token_hash(token)
    contact.code_sent_at = timezone.now()
    contact.save(update_fields=["code_hash", "code_sent_at"])
    return telegram_link(token)


def contact_send_code(*, contact: OwnerContact) -> None:
    """Send a new verification code to ``contact``; ``ChannelError`` when its far end refused,
    ``TooManyAttempts`` past ``RATE_LIMIT_CONTACT_CODE``. Nothing for a verified contact."""
    _send_code(contact, event=EventType.OWNER_CONTACT_CODE_SENT)


def _send_code(contact: OwnerContact, *, event: str | None = None) -> None:
    from messaging import owner_channels  # it renders texts that name these models

    if contact.is_verified or contact.kind == OwnerContact.Kind.TELEGRAM:
        return
    decision = ratelimit.reserve(
        [Bucket("owner-contact:code", str(contact.pk), Rate.of(settings.RATE_LIMIT_CONTACT_CODE))]
    )
    if not decision.allowed:
        raise TooManyAttempts(decision.retry_after)
    code = f"{secrets.randbelow(10**6):06d}"
    contact.code_hash = _code_hash(contact, code)
    contact.code_sent_at = timezone.now()
    with transaction.atomic():
        contact.save(update_fields=["code_hash", "code_sent_at"])
        if event is not None:
            _record(event, contact)
    # The code is saved (and the old one dead) whether or not the far end takes it.
    owner_channels.send_code(contact=contact, code=code)


def contact_verify(*, contact: OwnerContact, code: str, now: datetime | None = None) -> OwnerContact:
    """Verify ``contact`` by the code sent to it; ``ValidationError`` (``code``) for a wrong or
    expired one, ``TooManyAttempts`` past ``RATE_LIMIT_CONTACT_VERIFY``."""
    now = now or timezone.now()
    if contact.is_verified:
        return contact
    bucket = Bucket("owner-contact:verify", str(contact.pk), Rate.of(settings.RATE_LIMIT_CONTACT_VERIFY))
    decision = ratelimit.reserve([bucket])
    if not decision.allowed:
        raise TooManyAttempts(decision.retry_after)
    code = re.sub(r"\s", "", code or "")
    with transaction.atomic():
        locked = OwnerContact.objects.select_for_update().get(pk=contact.pk)
        expired = locked.code_sent_at is None or now > locked.code_sent_at + code_lifetime()
        if expired or not locked.code_hash or not constant_time_compare(locked.code_hash, _code_hash(locked, code)):
            raise ValidationError({"code": _("This code is wrong or has expired. Ask for a new one.")})
        _mark_verified(locked, now)
        _record(EventType.OWNER_CONTACT_VERIFIED, locked)
    ratelimit.release(decision)  # a right code is not a failure
    _copy(locked, contact)
    warnings_release(owner=contact.owner, now=now)
    return contact


def code_lifetime() -> timedelta:
    return timedelta(minutes=settings.MESSAGING_CONTACT_CODE_MINUTES)


def _mark_verified(contact: OwnerContact, now: datetime) -> None:
    contact.verified_at = now
    contact.code_hash = ""
    contact.failing_since = None
    contact.failing_error = ""
    contact.save(
        update_fields=["verified_at", "code_hash", "failing_since", "failing_error", "address", "address_hash"]
    )


def _copy(source: OwnerContact, target: OwnerContact) -> None:
    for field in OwnerContact._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def contact_verify_telegram(*, token: str, chat_id: str, now: datetime | None = None) -> OwnerContact | None:
    """The bot heard ``/start <token>`` from ``chat_id``: verify the contact the token is for.

    None for an unknown, used or expired token (the bot tells the chat nothing more: a token
    is no way to learn whose it is).
    """
    now = now or timezone.now()
    if not token or not chat_id:
        return None
    with transaction.atomic():
        contact = (
            OwnerContact.objects.select_for_update()
            .filter(kind=OwnerContact.Kind.TELEGRAM, code_hash=_token_hash(token), verified_at__isnull=True)
            .first()
        )
        if contact is None or contact.code_sent_at is None or now > contact.code_sent_at + telegram_link_lifetime():
            return None
        contact.address = str(chat_id)
        _mark_verified(contact, now)
        _record(EventType.OWNER_CONTACT_VERIFIED, contact)
    warnings_release(owner=contact.owner, now=now)
    return contact


def telegram_link_lifetime() -> timedelta:
    return timedelta(days=1)


def contact_update(*, contact: OwnerContact, label: str | None = None, first_level=None) -> OwnerContact:
    """Change the label or the first level; ``ValidationError`` keyed by the field. One event if anything changed."""
    fields = []
    if label is not None:
        label = _clean_label(label)
        if label != contact.label:
            contact.label = label
            fields.append("label")
    if first_level is not None:
        level = validate_first_level(first_level)
        if level != contact.first_level:
            contact.first_level = level
            fields.append("first_level")
    if fields:
        with transaction.atomic():
            contact.save(update_fields=fields)
            audit_record(
                EventType.OWNER_CONTACT_CHANGED,
                user=contact.owner_id,
                obj=contact,
                label=str(contact),
                changed=fields,
                data={"kind": contact.kind},
            )
    return contact


def _clean_label(label) -> str:
    if not isinstance(label, str):
        raise ValidationError({"label": _("Enter a text.")})
    label = label.strip()
    if len(label) > LABEL_MAX_LENGTH:
        raise ValidationError({"label": _("At most %(n)s characters.") % {"n": LABEL_MAX_LENGTH}})
    try:
        validate_single_line(label)
    except ValidationError as exc:
        raise ValidationError({"label": exc.messages[0]}) from None
    return label


def contact_remove(*, contact: OwnerContact) -> None:
    """Remove a contact: it is never warned again (its part of past warnings goes with it)."""
    with transaction.atomic():
        _record(EventType.OWNER_CONTACT_REMOVED, contact)
        contact.delete()
