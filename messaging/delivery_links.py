"""The link to each recipient's delivery page: made, found, opened, renewed and re-sent here.

A link's token is 256 random bits (``secrets.token_urlsafe(32)``), so it cannot be guessed;
the table keeps its keyed hash (``crypto.lookup_hash``, under a purpose of its own) and, until
the notice has gone out, the token itself Fernet-encrypted (``DeliveryLink.pending_token``:
see ``messaging.recipient_models``). A link opens only its own recipient's page: it names one
delivery, and through it one recipient of one message.

The first notice is part of the delivery (``messaging.delivery``): its link is made right
before the first attempt, the same link goes with every retry (under the delivery's lease and
uid, so "never twice" holds as before), and the send's own transaction empties the pending
token and starts the ``MESSAGING_DELIVERY_LINK_DAYS``. A renewal (the recipient, from an
expired or replaced link's page) and a re-send (staff, from the admin) are notices of their
own: a new link with a new notice id is sent at once to the recipient's own address (never
to one typed in), the older links stop opening the page, and the history says so. A send
that fails is said to the person who asked (try again later) and leaves no link behind.

The page opens while the message is being or has been delivered; a revocation closes it.
Whoever opens it first is recorded (``first_opened_at``) with a LINK_OPENED history row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cradle_site import crypto
from cradle_site.audit_vocabulary import EventType
from messaging import history
from messaging.channels import channel_for
from messaging.models import Delivery, DeliveryLink, Message, StatusLog
from ops.audit import audit_record

TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 64  # longer is junk: refused without hashing
OPEN_STATES = (Message.State.DELIVERING, Message.State.DELIVERED)


def link_token_hash(secret: str) -> str:
    return crypto.lookup_hash(f"delivery-link:{secret}")


def link_url(secret: str) -> str:
    return settings.SITE_URL + reverse("delivery_page", args=[secret])


def link_lifetime() -> timedelta:
    return timedelta(days=settings.MESSAGING_DELIVERY_LINK_DAYS)


@dataclass(frozen=True)
class LinkToSend:
    link: DeliveryLink
    url: str
    expires_at: datetime


def link_create(*, delivery: Delivery, reason: str, now: datetime, notice_id=None) -> tuple[DeliveryLink, str]:
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    fields = {"notice_id": notice_id} if notice_id is not None else {}
    link = DeliveryLink.objects.create(
        delivery=delivery,
        token_hash=link_token_hash(secret),
        pending_token=secret,
        reason=reason,
        created_at=now,
        expires_at=now + link_lifetime(),
        **fields,
    )
    return link, secret


def link_for_delivery(*, delivery: Delivery, now: datetime | None = None) -> LinkToSend:
    """The link the delivery's notice carries: the one an earlier attempt made, else a new one.

    Called by the sender holding the delivery's lease, so one sender at a time. The expiry is
    counted again from the send (``link_delivered``).
    """
    now = now or timezone.now()
    link = (
        DeliveryLink.objects.filter(delivery=delivery, reason=DeliveryLink.Reason.DELIVERED, sent_at__isnull=True)
        .exclude(pending_token="")
        .order_by("-id")
        .first()
    )
    if link is None:
        link, secret = link_create(
            delivery=delivery, reason=DeliveryLink.Reason.DELIVERED, now=now, notice_id=delivery.uid
        )
    else:
        secret = link.pending_token
    return LinkToSend(link=link, url=link_url(secret), expires_at=now + link_lifetime())


def link_delivered(*, link: DeliveryLink, sent_at: datetime) -> None:
    """The notice carrying ``link`` went out: forget the token, and count its days from now.

    Called inside the transaction that records the send (``messaging.delivery``)."""
    DeliveryLink.objects.filter(pk=link.pk).update(
        pending_token="", sent_at=sent_at, expires_at=sent_at + link_lifetime()
    )


class LinkState(StrEnum):
    OPEN = "open"
    EXPIRED = "expired"
    REPLACED = "replaced"  # a newer link was sent to the same recipient


@dataclass(frozen=True)
class FoundLink:
    link: DeliveryLink
    state: LinkState

    @property
    def delivery(self) -> Delivery:
        return self.link.delivery

    @property
    def message(self) -> Message:
        return self.link.delivery.message


def link_find(secret: str, *, now: datetime | None = None) -> FoundLink | None:
    """The link, its recipient, message and owner in one query; None: unknown, junk, or the page is closed."""
    if not secret or len(secret) > TOKEN_MAX_LENGTH:
        return None
    link = (
        DeliveryLink.objects.select_related(
            "delivery__recipient", "delivery__message__owner", "delivery__message__body"
        )
        .filter(token_hash=link_token_hash(secret))
        .first()
    )
    if link is None or link.delivery.message.state not in OPEN_STATES:
        return None
    now = now or timezone.now()
    if link.replaced_at is not None:
        state = LinkState.REPLACED
    elif link.expires_at <= now:
        state = LinkState.EXPIRED
    else:
        state = LinkState.OPEN
    return FoundLink(link=link, state=state)


def link_opened(found: FoundLink, *, now: datetime | None = None) -> bool:
    """Record the first opening of the page (once, whoever races); True when this call recorded it."""
    if found.link.first_opened_at is not None:
        return False
    now = now or timezone.now()
    with transaction.atomic():
        moved = DeliveryLink.objects.filter(pk=found.link.pk, first_opened_at__isnull=True).update(first_opened_at=now)
        if moved:
            StatusLog.objects.create(
                message_id=found.message.pk,
                created_at=now,
                **history.link_opened(recipient=found.delivery.recipient, link_id=found.link.pk),
            )
            _record(EventType.DELIVERY_LINK_OPENED, found.link, delivery=found.delivery, actor=history.RECIPIENT)
    return bool(moved)


def _record(event_type: str, link: DeliveryLink, *, delivery: Delivery, actor: history.Actor, **data) -> None:
    # The owner's log, about the link row: which recipient and message, never a token or an address.
    audit_record(
        event_type,
        user=delivery.message.owner_id,
        obj=link,
        actor=history.audit_actor(actor),
        data={"message_id": delivery.message_id, "recipient_id": delivery.recipient_id, **data},
    )


class RenewOutcome(StrEnum):
    """What became of a request for a new link (the renewal page says which)."""

    SENT = "sent"
    OPEN = "open"  # the link asked from still works: no new one is needed
    RECENT = "recent"  # one went out a moment ago
    CLOSED = "closed"  # not delivered (yet), or revoked
    FAILED = "failed"  # the send failed: try again later


class RenewRefused(Exception):
    """No new link was sent; ``reason`` (a ``RenewOutcome``) says why."""

    def __init__(self, reason: RenewOutcome) -> None:
        super().__init__(reason)
        self.reason = reason


def link_send_new(
    *, delivery: Delivery, reason: str, actor: history.Actor = history.RECIPIENT, now: datetime | None = None
) -> DeliveryLink:
    """Send ``delivery``'s recipient a new link at once, to their own address; the older links stop opening.

    ``RenewRefused(CLOSED)`` when the page is closed (not delivered, or revoked) and
    ``RenewRefused(RECENT)`` when a link went out less than
    ``MESSAGING_DELIVERY_LINK_RENEW_MINUTES`` ago (a button pressed twice, or someone holding an
    old link trying to fill the recipient's mailbox). A ``ChannelError`` from the send is raised
    as it is, and nothing is kept.
    """
    now = now or timezone.now()
    since = now - timedelta(minutes=settings.MESSAGING_DELIVERY_LINK_RENEW_MINUTES)
    with transaction.atomic():
        # Under the message's row lock (taken first, as every writer of a message's rows does):
        # two presses at once queue here, and the second sees the first one's link as recent.
        # A revocation in between is seen too.
        state = Message.objects.select_for_update().values_list("state", flat=True).get(pk=delivery.message_id)
        delivery.refresh_from_db(fields=["state"])
        if delivery.state != Delivery.State.SENT or state not in OPEN_STATES:
            raise RenewRefused(RenewOutcome.CLOSED)
        if DeliveryLink.objects.filter(delivery=delivery, created_at__gt=since).exists():
            raise RenewRefused(RenewOutcome.RECENT)
        link, secret = link_create(delivery=delivery, reason=reason, now=now)
    try:
        channel_for(delivery.recipient.contact_type).send(
            recipient=delivery.recipient,
            message=delivery.message,
            delivery_id=str(link.notice_id),
            link_url=link_url(secret),
            link_expires_at=link.expires_at,
        )
    except BaseException:
        link.delete()  # the recipient never got it: nothing may point at a link no one has
        raise
    with transaction.atomic():
        DeliveryLink.objects.filter(pk=link.pk).update(pending_token="", sent_at=now)
        DeliveryLink.objects.filter(delivery=delivery, replaced_at__isnull=True).exclude(pk=link.pk).update(
            replaced_at=now
        )
        StatusLog.objects.create(
            message_id=delivery.message_id,
            created_at=now,
            **history.link_sent(recipient=delivery.recipient, link_id=link.pk, reason=reason, actor=actor),
        )
        _record(
            EventType.DELIVERY_LINK_SENT,
            link,
            delivery=delivery,
            actor=actor,
            reason=reason,
            channel=delivery.recipient.contact_type,
        )
    return link


def link_renew(found: FoundLink, *, now: datetime | None = None) -> DeliveryLink:
    """The recipient's "send me a new link", from an expired or replaced link's page."""
    if found.state == LinkState.OPEN:
        raise RenewRefused(RenewOutcome.OPEN)
    return link_send_new(delivery=found.delivery, reason=DeliveryLink.Reason.RENEWED, now=now)


def link_resend(*, delivery: Delivery, user, now: datetime | None = None) -> DeliveryLink:
    """Staff's "send the recipient a new link" (the admin action)."""
    return link_send_new(delivery=delivery, reason=DeliveryLink.Reason.RESENT, actor=history.staff(user), now=now)
