"""Deliver messages whose ladder ran out: one Delivery row per recipient, retried with back-off.

What a recipient is sent is a notice with the link to their delivery page
(``messaging.delivery_notice``, ``messaging.delivery_links``); the link is made before the first
attempt and every retry carries the same one, with the same delivery id.

Each recipient gets the message once: its Delivery row is unique, claimed before sending
(``DELIVERY_LEASE``, see ``cradle_site.leases``) and marked sent right after. A failed attempt writes a
DELIVERY_FAILED status log. A transient failure (``messaging.channels`` decides) is retried
at the capped back-off for as long as it lasts - a relay outage of days ends in delivery;
a permanent one (the address is gone) makes the row ``failed``, not retried until staff
retry it, and raises the staff alarm in the same transaction (``messaging.alarms``).
The owner is not told (they are, by design, absent) and neither are the other recipients.
Every attempt carries the delivery's id (``Delivery.uid``), so after an attempt that may have
arrived (a webhook that answered too late) the receiver can drop the copy.

DELIVERED is logged once, in the transaction that records the last sent delivery
(``message_complete``): a batch killed later (SIGKILL, the job timeout, the database gone)
cannot leave a served message in ``delivering``. The write after a send is retried while the
database is away (``cradle_site.retry.retry_write``), so only a worker that dies between the
send and that write can make the lease send again (with the same delivery id).
``messages_complete``, run by the sweep, repairs any message left in ``delivering`` with
every recipient served all the same (by code before this, or a hand edit).

A batch stops starting sends after ``MESSAGING_SEND_RUN_SECONDS`` and gives back the rows it
did not start, so django-q's timeout never kills it mid-send.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef
from django.utils import timezone

from cradle_site import leases
from cradle_site.audit_vocabulary import EventType
from cradle_site.retry import Backoff, retry_write
from messaging import history
from messaging.channels import ChannelError, FailureKind, channel_for
from messaging.delivery_links import link_delivered, link_for_delivery
from messaging.models import DELIVERY_LEASE, Delivery, DeliveryLink, Message, StaffAlarm, StatusLog
from messaging.sending import SendOutcome, send_deadline
from ops.audit import audit_record

log = logging.getLogger(__name__)

# What the owner and staff read when a send failed on our side (a bug, logged with its traceback).
CRASH_SENTENCE = "Cradle failed on its side while sending; it will try again (the details are in the server log)."


def delivery_backoff() -> Backoff:
    """Never exhausted: a transient failure passes some day, and giving up would drop the message."""
    return Backoff(base=settings.MESSAGING_RETRY_BASE_SECONDS, cap=settings.MESSAGING_RETRY_MAX_SECONDS)


def deliveries_send(
    *, now: datetime | None = None, limit: int = 200, run_seconds: float | None = None
) -> dict[str, int]:
    """Send due deliveries; return counts of ``sent`` and ``failed`` attempts.

    Stops starting sends after ``run_seconds`` (default ``MESSAGING_SEND_RUN_SECONDS``); the
    rows claimed and not started go back to the queue at once.
    """
    now = now or timezone.now()
    deadline = send_deadline(run_seconds)
    claim = DELIVERY_LEASE.claim(Delivery.objects.filter(message__state=Message.State.DELIVERING), now=now, limit=limit)
    counts = {SendOutcome.SENT: 0, SendOutcome.FAILED: 0}
    deliveries = list(Delivery.objects.filter(id__in=claim.ids).select_related("recipient", "message__owner"))
    for index, delivery in enumerate(deliveries):
        if time.monotonic() >= deadline:
            DELIVERY_LEASE.give_back([d.pk for d in deliveries[index:]], claim.lease_until)
            break
        if not _hold_for_send(delivery, claim.lease_until):
            continue  # revoked since the claim, or another worker took it back
        link = None
        try:
            # The same link on every attempt (made by the first): see messaging.delivery_links.
            link = link_for_delivery(delivery=delivery)
            channel_for(delivery.recipient.contact_type).send(
                recipient=delivery.recipient,
                message=delivery.message,
                delivery_id=str(delivery.uid),
                link_url=link.url,
                link_expires_at=link.expires_at,
            )
        except ChannelError as exc:
            _record_failure(delivery, str(exc), now, kind=exc.kind, maybe_sent=exc.maybe_sent)
            counts[SendOutcome.FAILED] += 1
        except Exception:  # a bug in a gateway must not stop the other deliveries
            log.exception("delivery %s crashed", delivery.pk)
            # The owner reads last_error and the history: the traceback is in the log only.
            _record_failure(delivery, CRASH_SENTENCE, now, kind=FailureKind.CRASH)
            counts[SendOutcome.FAILED] += 1
        else:
            _record_sent(delivery, sent_at=timezone.now(), link=link.link)
            counts[SendOutcome.SENT] += 1
    return counts


def _record_sent(delivery: Delivery, *, sent_at: datetime, link: DeliveryLink | None = None) -> None:
    """Mark the delivery sent and, when it was the last one, the message DELIVERED: one transaction.

    The link the notice carried forgets its token in the same transaction (``link_delivered``).

    Retried while the database is away: the recipient has the message, and a row left to its
    lease would be sent again. Running it twice changes nothing (same values; the completion
    is conditional).
    """

    def write() -> None:
        # The message row first, as every writer of a message's rows takes them: two workers
        # sending a message's last two deliveries queue here, so the second sees the first's.
        _lock_message(delivery.message_id)
        Delivery.objects.filter(pk=delivery.pk).update(
            **DELIVERY_LEASE.released(
                state=Delivery.State.SENT, attempts=delivery.attempts + 1, delivered_at=sent_at, last_error=""
            )
        )
        if link is not None:
            link_delivered(link=link, sent_at=sent_at)
        message_complete(message_id=delivery.message_id)

    retry_write(write, seconds=settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS)  # one transaction per try


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
        state, paused_until = (
            Message.objects.select_for_update()
            .filter(pk=delivery.message_id)
            .values_list("state", "paused_until")
            .first()
        ) or (None, None)
        now = timezone.now()
        if state == Message.State.DELIVERING and paused_until is not None and paused_until > now:
            # A pause in force: nothing is delivered before it ends (messaging.pauses). A pause
            # covers messages on their ladder only, so this guards a row written some other way.
            leases.compare_and_set(
                Delivery,
                pk=delivery.pk,
                expect={"state": Delivery.State.SENDING},
                **DELIVERY_LEASE.released(state=Delivery.State.PENDING, next_attempt_at=paused_until),
            )
            return False
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


def _record_failure(
    delivery: Delivery, error: str, now: datetime, *, kind: FailureKind, maybe_sent: bool = False
) -> None:
    attempts = delivery.attempts + 1
    permanent = kind == FailureKind.PERMANENT
    recipient = delivery.recipient
    with transaction.atomic():
        # The message row first, as a revoke takes them: the history row below needs the
        # message (its foreign key), and a revoke holding the message waits for this delivery.
        _lock_message(delivery.message_id)
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
            **history.delivery_failed(
                recipient=recipient, attempt=attempts, error=error, kind=kind, maybe_sent=maybe_sent
            ),
        )
        if permanent and moved:
            # With the failure, so the alarm cannot be lost between the two; once per delivery
            # (a refusal after a staff retry has already been reported).
            StaffAlarm.objects.get_or_create(
                delivery_id=delivery.pk,
                defaults={"reason": StaffAlarm.Reason.REFUSED, "created_at": now, "next_attempt_at": now},
            )


def message_complete(*, message_id: int) -> bool:
    """DELIVERED when every delivery of the message is sent; True when this call moved it.

    Call it inside a transaction holding the message row (``select_for_update``): with the
    row held, no delivery of it is recorded meanwhile. The UPDATE is conditional on
    ``delivering`` as well, so a revoked message stays revoked and DELIVERED is logged once.
    ``delivered_at`` is when the last recipient got it.
    """
    sent = Delivery.objects.filter(message_id=message_id)
    if sent.exclude(state=Delivery.State.SENT).exists():
        return False
    facts = sent.aggregate(count=Count("id"), last=Max("delivered_at"))
    if not facts["count"]:
        return False  # deliveries are created with the state change; none means not ours to judge
    delivered_at = facts["last"] or timezone.now()
    moved = Message.objects.filter(pk=message_id, state=Message.State.DELIVERING).update(
        state=Message.State.DELIVERED, delivered_at=delivered_at, updated_at=delivered_at
    )
    if moved:
        StatusLog.objects.create(
            message_id=message_id,
            created_at=delivered_at,
            **history.delivered(recipients=facts["count"], actor=history.DELIVERY),
        )
        audit_record(
            EventType.MESSAGE_DELIVERED,
            user=Message.objects.values_list("owner_id", flat=True).get(pk=message_id),
            obj=(Message, message_id),
            actor=history.audit_actor(history.DELIVERY),
            data={"recipients": facts["count"]},
        )
    return bool(moved)


def messages_complete(*, limit: int = 500) -> int:
    """Repair: complete messages left in ``delivering`` with every delivery sent; return how many.

    ``_record_sent`` completes a message in the transaction of its last delivery, so this
    finds only what older code or a hand edit left. Run by the sweep; safe with several
    workers (each message under its row lock, and ``message_complete`` is conditional).
    """
    unsent = Delivery.objects.filter(message=OuterRef("pk")).exclude(state=Delivery.State.SENT)
    served = Delivery.objects.filter(message=OuterRef("pk"), state=Delivery.State.SENT)
    stranded = list(
        Message.objects.filter(state=Message.State.DELIVERING)
        .filter(Exists(served), ~Exists(unsent))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    done = 0
    for message_id in stranded:
        with transaction.atomic():
            if _lock_message(message_id):
                done += message_complete(message_id=message_id)
    return done


def _lock_message(message_id: int) -> bool:
    """Hold the message row until the transaction ends; False when it is gone."""
    return bool(list(Message.objects.select_for_update().filter(pk=message_id).values_list("pk", flat=True)))
