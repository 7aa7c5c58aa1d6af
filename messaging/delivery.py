"""Deliver messages whose ladder ran out: one Delivery row per recipient, retried with back-off.

Each recipient gets the message once: its Delivery row is unique, claimed before sending
(``DELIVERY_LEASE``, see ``cradle_site.leases``) and marked sent right after. A failed attempt writes a
DELIVERY_FAILED status log and is retried later; after the last attempt the row is
``failed``, the owner gets a notice by e-mail and staff see it in the admin (retry action).
DELIVERED is logged once, when every recipient has the message.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cradle_site import leases
from cradle_site.retry import Backoff
from messaging import history
from messaging.channels import ChannelError, FailureKind, channel_for
from messaging.models import DELIVERY_LEASE, Delivery, Message, Notice, StatusLog

log = logging.getLogger(__name__)


def delivery_backoff() -> Backoff:
    return Backoff(
        base=settings.MESSAGING_RETRY_BASE_SECONDS,
        cap=settings.MESSAGING_RETRY_MAX_SECONDS,
        max_attempts=settings.MESSAGING_DELIVERY_MAX_ATTEMPTS,
    )


def deliveries_send(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send due deliveries; return counts of ``sent`` and ``failed`` attempts."""
    now = now or timezone.now()
    claim = DELIVERY_LEASE.claim(Delivery.objects.filter(message__state=Message.State.DELIVERING), now=now, limit=limit)
    counts = {Delivery.State.SENT: 0, Delivery.State.FAILED: 0}
    deliveries = Delivery.objects.filter(id__in=claim.ids).select_related("recipient", "message__owner")
    for delivery in deliveries:
        if not _hold_for_send(delivery, claim.lease_until):
            continue  # revoked since the claim, or another worker took it back
        try:
            channel_for(delivery.recipient.contact_type).send(recipient=delivery.recipient, message=delivery.message)
        except ChannelError as exc:
            _record_failure(delivery, str(exc), now, kind=FailureKind.CHANNEL)
            counts[Delivery.State.FAILED] += 1
        except Exception as exc:  # a bug in a gateway must not stop the other deliveries
            log.exception("delivery %s crashed", delivery.pk)
            _record_failure(delivery, f"{exc.__class__.__name__}: {exc}", now, kind=FailureKind.CRASH)
            counts[Delivery.State.FAILED] += 1
        else:
            Delivery.objects.filter(pk=delivery.pk).update(
                **DELIVERY_LEASE.released(
                    state=Delivery.State.SENT,
                    attempts=delivery.attempts + 1,
                    delivered_at=timezone.now(),
                    last_error="",
                )
            )
            counts[Delivery.State.SENT] += 1
    messages_complete(message_ids={d.message_id for d in deliveries}, now=now)
    return counts


def _hold_for_send(delivery: Delivery, lease_until: datetime) -> bool:
    """Renew the delivery's lease right before its send, if its message is still being delivered.

    Checked fresh before each send, not with the batch: a batch's sends can take minutes
    (webhook timeouts), and a revoke that lands during one send must stop every later one.
    Checked under the message's row lock, in the same short transaction as the lease, in the
    order a revoke takes them (the message row, then its deliveries): a revoke still in
    flight holds that lock, so this waits for it and then reads REVOKED. A lock-free read
    would see the last committed state, "delivering", and send while the revoke committed.
    What a lock cannot stop is a revoke that begins after this returns: that send was
    already decided, and the revoke's history comes after it.
    """
    with transaction.atomic():
        state = (
            Message.objects.select_for_update().filter(pk=delivery.message_id).values_list("state", flat=True).first()
        )
        if state != Message.State.DELIVERING:
            # A revoke cancels the held rows itself; this covers any other way off "delivering".
            leases.compare_and_set(
                Delivery,
                pk=delivery.pk,
                expect={"state": Delivery.State.SENDING},
                **DELIVERY_LEASE.released(state=Delivery.State.CANCELLED),
            )
            return False
        # None: the batch outlasted its lease and another worker took this one back.
        return DELIVERY_LEASE.hold(delivery.pk, lease_until) is not None


def _record_failure(delivery: Delivery, error: str, now: datetime, *, kind: FailureKind) -> None:
    attempts = delivery.attempts + 1
    retry = delivery_backoff()
    final = retry.exhausted(attempts)
    recipient = delivery.recipient
    with transaction.atomic():
        # Conditional on the claim: a revoke during the send has cancelled the row, and a
        # cancelled delivery stays cancelled (only the attempt and its error are kept).
        moved = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.SENDING).update(
            **DELIVERY_LEASE.released(
                state=Delivery.State.FAILED if final else Delivery.State.PENDING,
                attempts=attempts,
                last_error=error[:2000],
                next_attempt_at=now + retry.delay(attempts),
            )
        )
        if not moved:
            Delivery.objects.filter(pk=delivery.pk).update(attempts=attempts, last_error=error[:2000])
        StatusLog.objects.create(
            message_id=delivery.message_id,
            created_at=now,
            **history.delivery_failed(recipient=recipient, attempt=attempts, final=final, error=error, kind=kind),
        )
        if final and moved:
            # The owner's other channel (e-mail) hears about a recipient that keeps failing.
            Notice.objects.create(
                message_id=delivery.message_id,
                kind=Notice.Kind.DELIVERY_FAILED,
                details=f"{recipient.name} ({recipient.get_contact_type_display()}): {error}"[:2000],
                created_at=now,
                next_attempt_at=now,
            )


def messages_complete(*, message_ids: set[int], now: datetime) -> int:
    """Mark DELIVERED the messages whose every recipient has the message; return how many."""
    done = 0
    for message_id in message_ids:
        if Delivery.objects.filter(message_id=message_id).exclude(state=Delivery.State.SENT).exists():
            continue
        with transaction.atomic():
            # Conditional: with several workers only one moves it, so DELIVERED is logged once.
            moved = Message.objects.filter(pk=message_id, state=Message.State.DELIVERING).update(
                state=Message.State.DELIVERED, delivered_at=now, updated_at=now
            )
            if moved:
                count = Delivery.objects.filter(message_id=message_id).count()
                StatusLog.objects.create(
                    message_id=message_id,
                    created_at=now,
                    **history.delivered(recipients=count, actor=history.DELIVERY),
                )
                done += 1
    return done
