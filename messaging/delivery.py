"""Deliver messages whose ladder ran out: one Delivery row per recipient, retried with back-off.

Each recipient gets the message once: its Delivery row is unique, claimed before sending
(``DELIVERY_LEASE``, see ``cradle_site.leases``) and marked sent right after. A failed attempt writes a
DELIVERY_FAILED status log. A transient failure (``messaging.channels`` decides) is retried
at the capped back-off for as long as it lasts - a relay outage of days ends in delivery;
a permanent one (the address is gone) makes the row ``failed``, not retried until staff
retry it, and raises the staff alarm in the same transaction (``messaging.alarms``).
The owner is not told (they are, by design, absent) and neither are the other recipients.
DELIVERED is logged once, when every recipient has the message.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cradle_site.retry import Backoff
from messaging import history
from messaging.channels import ChannelError, FailureKind, channel_for
from messaging.models import DELIVERY_LEASE, Delivery, Message, StaffAlarm, StatusLog

log = logging.getLogger(__name__)


def delivery_backoff() -> Backoff:
    """Never exhausted: a transient failure passes some day, and giving up would drop the message."""
    return Backoff(base=settings.MESSAGING_RETRY_BASE_SECONDS, cap=settings.MESSAGING_RETRY_MAX_SECONDS)


def deliveries_send(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send due deliveries; return counts of ``sent`` and ``failed`` attempts."""
    now = now or timezone.now()
    claim = DELIVERY_LEASE.claim(Delivery.objects.filter(message__state=Message.State.DELIVERING), now=now, limit=limit)
    counts = {Delivery.State.SENT: 0, Delivery.State.FAILED: 0}
    deliveries = Delivery.objects.filter(id__in=claim.ids).select_related("recipient", "message__owner")
    for delivery in deliveries:
        if not _still_delivering(delivery):
            # Revoked since the claim (possibly during an earlier send of this batch): never deliver.
            Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.SENDING).update(
                **DELIVERY_LEASE.released(state=Delivery.State.CANCELLED)
            )
            continue
        if DELIVERY_LEASE.hold(Delivery.objects.filter(pk=delivery.pk), claim.lease_until) is None:
            continue  # the batch outlasted its lease and another worker took this one back
        try:
            channel_for(delivery.recipient.contact_type).send(recipient=delivery.recipient, message=delivery.message)
        except ChannelError as exc:
            _record_failure(delivery, str(exc), now, kind=exc.kind)
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


def _still_delivering(delivery: Delivery) -> bool:
    """Whether the message may still go out, read fresh just before each send.

    A batch's sends can take minutes (webhook timeouts), so the state loaded with the batch
    is not enough: a revoke that lands during one send must stop every later one.
    """
    return Message.objects.filter(pk=delivery.message_id, state=Message.State.DELIVERING).exists()


def _record_failure(delivery: Delivery, error: str, now: datetime, *, kind: FailureKind) -> None:
    attempts = delivery.attempts + 1
    permanent = kind == FailureKind.PERMANENT
    recipient = delivery.recipient
    with transaction.atomic():
        # Conditional on the claim: a revoke during the send has cancelled the row, and a
        # cancelled delivery stays cancelled (only the attempt and its error are kept).
        moved = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.SENDING).update(
            **DELIVERY_LEASE.released(
                state=Delivery.State.FAILED if permanent else Delivery.State.PENDING,
                attempts=attempts,
                last_error=error[:2000],
                next_attempt_at=now + delivery_backoff().delay(attempts),
            )
        )
        if not moved:
            Delivery.objects.filter(pk=delivery.pk).update(attempts=attempts, last_error=error[:2000])
        StatusLog.objects.create(
            message_id=delivery.message_id,
            created_at=now,
            **history.delivery_failed(recipient=recipient, attempt=attempts, error=error, kind=kind),
        )
        if permanent and moved:
            # With the failure, so the alarm cannot be lost between the two; once per delivery
            # (a refusal after a staff retry has already been reported).
            StaffAlarm.objects.get_or_create(
                delivery_id=delivery.pk,
                defaults={"reason": StaffAlarm.Reason.REFUSED, "created_at": now, "next_attempt_at": now},
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
