"""Recipients know they are named: "Alice named you as a recipient on Cradle", and a link to confirm.

Optional per recipient (``Recipient.tell_named``), e-mail recipients only: a webhook or a text
message has nobody to press a button, so the form and the API refuse the choice there and say
so. The point is to find a dead address while the owner can still fix it.

- **Queued** by the services that write recipients (``named_notices_queue``, in their
  transaction): one ``NamedNotice`` per address that asks for it and has not been told yet.
  The send job (``messaging.named_sending``) claims and sends it like a delivery.
- **The notice** says who named them and what it means, never the message's title or text
  (``messaging.named_sending.named_notice_build``).
- **The link**: 256 random bits, only its keyed hash kept once sent; a GET shows a button, the
  POST confirms (a mail scanner that follows links confirms nothing). Single use: a second
  POST changes nothing and says it is already confirmed.
- **The owner** sees per recipient: not asked / waiting to be sent / asked on … / confirmed on
  … / this address does not work (an SMTP 5xx for the address). They may send it again, at most
  once per ``MESSAGING_NAMED_RESEND_MINUTES`` per address (``named_notice_resend``).

The facts the owner reads sit on the recipient row, keyed by address: an edit of the message
writes its recipient rows again (``message_update``) and ``named_facts_keep`` carries them over
for an address named again; a changed address starts from "not asked".
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cradle_site import crypto
from cradle_site.audit_vocabulary import EventType
from cradle_site.errors import StateError
from cradle_site.retry import retry_on_deadlock
from messaging import history
from messaging.models import Message, NamedNotice, Recipient
from ops.audit import audit_record

TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 64  # longer is junk: refused without hashing
NAMED_FACTS = ("named_notice_sent_at", "named_confirmed_at", "named_failed_at", "named_failed_reason")
OPEN = (NamedNotice.State.PENDING, NamedNotice.State.SENDING)


def named_token_hash(secret: str) -> str:
    return crypto.lookup_hash(f"named-notice:{secret}")


def named_url(secret: str) -> str:
    return settings.SITE_URL + reverse("messaging:named_confirm", args=[secret])


def named_allowed(contact_type: str) -> bool:
    return contact_type == Recipient.ContactType.EMAIL


def named_refused_text() -> str:
    return _("Only e-mail recipients can be told they are named: a webhook or a text message has no one to confirm.")


def named_facts_keep(message: Message) -> dict[str, dict]:
    """``{contact_hash: {fact: value}}`` of the message's recipients, read before an edit rewrites them."""
    rows = message.recipients.values("contact_hash", *NAMED_FACTS)
    return {row.pop("contact_hash"): row for row in rows}


def named_facts_restore(recipients: list[Recipient], kept: dict[str, dict]) -> None:
    """Give each new row of an address named before that address's facts (before it is inserted)."""
    from messaging.contacts import contact_hash

    for recipient in recipients:
        facts = kept.get(contact_hash(recipient.contact_type, recipient.contact))
        if facts:
            for name, value in facts.items():
                setattr(recipient, name, value)


def _notice_create(*, message: Message, address: str, now: datetime) -> NamedNotice:
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    return NamedNotice.objects.create(
        message=message,
        contact_hash=address,
        token_hash=named_token_hash(secret),
        pending_token=secret,
        created_at=now,
        next_attempt_at=now,
    )


def named_notices_queue(*, message: Message, now: datetime | None = None) -> int:
    """Queue a notice for each recipient who asks for one and has none yet; cancel the ones no longer wanted.

    Call it inside the transaction that wrote the recipients, holding the message row. Returns
    how many were queued.
    """
    now = now or timezone.now()
    wanted = set(
        message.recipients.filter(
            tell_named=True,
            contact_type=Recipient.ContactType.EMAIL,
            named_notice_sent_at__isnull=True,
            named_confirmed_at__isnull=True,
            named_failed_at__isnull=True,
        ).values_list("contact_hash", flat=True)
    )
    still_asking = set(message.recipients.filter(tell_named=True).values_list("contact_hash", flat=True))
    # Only PENDING: a notice being sent right now is left to its sender, which checks again.
    NamedNotice.objects.filter(message=message, state=NamedNotice.State.PENDING).exclude(
        contact_hash__in=still_asking
    ).update(state=NamedNotice.State.CANCELLED, pending_token="")
    queued = set(
        NamedNotice.objects.filter(message=message, state__in=OPEN, contact_hash__in=wanted).values_list(
            "contact_hash", flat=True
        )
    )
    for address in sorted(wanted - queued):
        _notice_create(message=message, address=address, now=now)
    return len(wanted - queued)


def named_notice_resend(*, recipient: Recipient, now: datetime | None = None) -> NamedNotice:
    """The owner's "send it again": a new notice for this recipient, sent by the job within a minute.

    ``StateError`` (said to the owner) for a recipient who cannot be told, a message off its
    ladder, an address already confirmed, or a notice made less than
    ``MESSAGING_NAMED_RESEND_MINUTES`` ago.
    """
    now = now or timezone.now()
    if not named_allowed(recipient.contact_type):
        raise StateError(named_refused_text())

    def resend() -> NamedNotice:
        with transaction.atomic():
            # The message row first, as every writer of a message's rows takes it (messaging.services).
            message = Message.objects.select_for_update().get(pk=recipient.message_id)
            if message.state != Message.State.ACTIVE:
                raise StateError(_("Only a message that has not been delivered or revoked can be changed."))
            current = Recipient.objects.filter(pk=recipient.pk, message=message).first()
            if current is None:
                raise StateError(_("This recipient is no longer on the message; reload the page."))
            if current.named_confirmed_at is not None:
                raise StateError(_("%(name)s has already confirmed this address.") % {"name": current.name})
            since = now - timedelta(minutes=settings.MESSAGING_NAMED_RESEND_MINUTES)
            if NamedNotice.objects.filter(
                message=message, contact_hash=current.contact_hash, created_at__gt=since
            ).exists():
                raise StateError(
                    _("A notice to %(name)s was sent less than %(n)d minutes ago; please wait before sending another.")
                    % {"name": current.name, "n": settings.MESSAGING_NAMED_RESEND_MINUTES}
                )
            NamedNotice.objects.filter(
                message=message, contact_hash=current.contact_hash, state=NamedNotice.State.PENDING
            ).update(state=NamedNotice.State.CANCELLED, pending_token="")
            Recipient.objects.filter(pk=current.pk).update(
                tell_named=True, named_failed_at=None, named_failed_reason=""
            )
            notice = _notice_create(message=message, address=current.contact_hash, now=now)
            # Which recipient, by id: never the address.
            audit_record(
                EventType.NAMED_NOTICE_RESENT,
                user=message.owner_id,
                obj=notice,
                data={"message_id": message.pk, "recipient_id": current.pk},
            )
        return notice

    return retry_on_deadlock(resend)


def named_find(secret: str) -> NamedNotice | None:
    """The notice a confirm link names (sent or not), or None for a token that names none."""
    if not secret or len(secret) > TOKEN_MAX_LENGTH:
        return None
    return NamedNotice.objects.select_related("message__owner").filter(token_hash=named_token_hash(secret)).first()


def named_recipient(notice: NamedNotice) -> Recipient | None:
    """The recipient the notice was sent to, while the message still names that address."""
    return Recipient.objects.filter(message_id=notice.message_id, contact_hash=notice.contact_hash).first()


class ConfirmOutcome:
    CONFIRMED = "confirmed"
    ALREADY = "already"  # this link, or another one to the same address, confirmed it before
    GONE = "gone"  # the owner removed or changed the address, or the message is no longer waiting


def named_confirm(*, notice: NamedNotice, now: datetime | None = None) -> str:
    """The recipient's POST from the confirm page; returns a ``ConfirmOutcome``. One audit event when it confirms."""
    now = now or timezone.now()

    def confirm() -> str:
        with transaction.atomic():
            message = Message.objects.select_for_update().get(pk=notice.message_id)
            current = NamedNotice.objects.get(pk=notice.pk)
            recipient = named_recipient(current)
            if (
                message.state != Message.State.ACTIVE
                or recipient is None
                or current.state == NamedNotice.State.CANCELLED
            ):
                return ConfirmOutcome.GONE
            if current.confirmed_at is not None or recipient.named_confirmed_at is not None:
                return ConfirmOutcome.ALREADY
            NamedNotice.objects.filter(pk=current.pk).update(confirmed_at=now)
            Recipient.objects.filter(pk=recipient.pk).update(
                named_confirmed_at=now, named_failed_at=None, named_failed_reason=""
            )
            audit_record(
                EventType.NAMED_NOTICE_CONFIRMED,
                user=message.owner_id,
                obj=current,
                actor=history.audit_actor(history.RECIPIENT),
                data={"message_id": message.pk, "recipient_id": recipient.pk},
            )
        return ConfirmOutcome.CONFIRMED

    return retry_on_deadlock(confirm)
