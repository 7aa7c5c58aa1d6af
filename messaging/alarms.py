"""The staff alarm: a delivery that needs a person is reported to ``ADMINS``, once, whatever the relay does.

A delivery needs a person when the far end refused it for good (``messaging.delivery``
writes that alarm with the failure) or when it has not gone out within
``MESSAGING_DELIVERY_ALARM_HOURS`` of starting (``alarms_raise`` writes those, each minute).
Staff also see both on ``/healthz?strict=1`` (``deliveries_needing_staff``) and in the admin;
the e-mail is for the person who is not looking.

The e-mail is staff-only and carries no content, title or recipient name: the message's id,
the delivery's, the channel and the error, and a link to the admin. Its row is claimed
before the send (``ALARM_LEASE``, ``cradle_site.leases``) so two workers send it once, and a
failed send is retried at the back-off, never given up: an alarm raised during a mail outage
must arrive when the relay comes back.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.core.mail import mail_admins
from django.urls import reverse
from django.utils import timezone

from cradle_site.mail_errors import mail_failure
from cradle_site.retry import Backoff
from messaging.models import ALARM_LEASE, Delivery, StaffAlarm
from messaging.sending import SendOutcome, send_deadline

log = logging.getLogger(__name__)
NAMED_MAX = 20  # deliveries /healthz names; the count is always whole


def alarm_backoff() -> Backoff:
    return Backoff(base=settings.MESSAGING_RETRY_BASE_SECONDS, cap=settings.MESSAGING_RETRY_MAX_SECONDS)


def alarms_raise(*, now: datetime | None = None, limit: int = 500) -> int:
    """Write an alarm for each overdue delivery that has none; return how many it found."""
    now = now or timezone.now()
    ids = list(Delivery.objects.overdue(now).filter(alarm__isnull=True).values_list("id", flat=True)[:limit])
    # The unique delivery column keeps it once per delivery when two workers raise at once.
    created = StaffAlarm.objects.bulk_create(
        [
            StaffAlarm(delivery_id=pk, reason=StaffAlarm.Reason.OVERDUE, created_at=now, next_attempt_at=now)
            for pk in ids
        ],
        ignore_conflicts=True,
    )
    return len(created)


def _subject_and_body(alarm: StaffAlarm) -> tuple[str, str]:
    if alarm.reason == StaffAlarm.Reason.UNREACHABLE:
        return _unreachable_text(alarm)
    delivery = alarm.delivery
    if alarm.reason == StaffAlarm.Reason.REFUSED:
        what = "was refused for good (the address may no longer exist)"
    else:
        what = f"has not gone out within {settings.MESSAGING_DELIVERY_ALARM_HOURS} h"
    subject = f"Delivery #{delivery.pk} of message #{delivery.message_id} {what}"
    body = "\n".join(
        [
            subject + ".",
            "",
            f"Channel: {delivery.recipient.get_contact_type_display()}",
            f"State: {delivery.state}, {delivery.attempts} attempt(s)",
            f"Last error: {delivery.last_error or '-'}",
            "",
            "Retry it from the admin once the cause is fixed, or revoke the message:",
            settings.SITE_URL + reverse("admin:messaging_delivery_change", args=[delivery.pk]),
        ]
    )
    return subject, body


def _unreachable_text(alarm: StaffAlarm) -> tuple[str, str]:
    subject = (
        f"Owner of message #{alarm.message_id} unreachable on every channel (warning {alarm.level} counted as sent)"
    )
    body = "\n".join(
        [
            subject + ".",
            "",
            f"Every verified contact of the owner refused warning {alarm.level} for good for "
            f"{settings.MESSAGING_UNREACHABLE_GRACE_DAYS} days; the ladder went on without it.",
            "Check the owner's contacts; revoke the message if it must not be delivered:",
            settings.SITE_URL + reverse("admin:messaging_message_change", args=[alarm.message_id]),
        ]
    )
    return subject, body


def _still_needed(alarm: StaffAlarm, now: datetime) -> bool:
    if alarm.reason == StaffAlarm.Reason.UNREACHABLE:
        return True  # a fact about the past: staff hear of it whatever happened since
    return Delivery.objects.needing_staff(now).filter(pk=alarm.delivery_id).exists()


def alarms_send(*, now: datetime | None = None, limit: int = 100, run_seconds: float | None = None) -> dict[str, int]:
    """E-mail the due alarms to ``ADMINS``; return how many were sent, skipped (resolved meanwhile) and failed."""
    now = now or timezone.now()
    deadline = send_deadline(run_seconds)
    counts = {SendOutcome.SENT: 0, SendOutcome.SKIPPED: 0, SendOutcome.FAILED: 0}
    claim = ALARM_LEASE.claim(StaffAlarm.objects.all(), now=now, limit=limit)
    alarms = list(StaffAlarm.objects.filter(id__in=claim.ids).select_related("delivery__recipient"))
    for index, alarm in enumerate(alarms):
        if time.monotonic() >= deadline:
            ALARM_LEASE.give_back([a.pk for a in alarms[index:]], claim.lease_until)
            break
        if ALARM_LEASE.hold(alarm.pk, claim.lease_until) is None:
            continue
        if not _still_needed(alarm, now):
            # Raised during an outage that also held the e-mail back, and the delivery has gone
            # out (or was revoked) since: an alarm about nothing would teach staff to ignore them.
            StaffAlarm.objects.filter(pk=alarm.pk).update(**ALARM_LEASE.released(state=StaffAlarm.State.RESOLVED))
            counts[SendOutcome.SKIPPED] += 1
            continue
        subject, body = _subject_and_body(alarm)
        try:
            mail_admins(subject, body, fail_silently=False)
        except Exception as exc:  # the relay is down too: keep it and try again later
            error = mail_failure(exc, what=f"staff alarm {alarm.pk}")  # the full text is logged there
            attempts = alarm.attempts + 1
            StaffAlarm.objects.filter(pk=alarm.pk, state=StaffAlarm.State.SENDING).update(
                **ALARM_LEASE.released(
                    state=StaffAlarm.State.PENDING,
                    attempts=attempts,
                    last_error=str(error)[:2000],
                    next_attempt_at=now + alarm_backoff().delay(attempts),
                )
            )
            counts[SendOutcome.FAILED] += 1
        else:
            StaffAlarm.objects.filter(pk=alarm.pk).update(
                **ALARM_LEASE.released(state=StaffAlarm.State.SENT, sent_at=timezone.now(), last_error="")
            )
            counts[SendOutcome.SENT] += 1
    return counts


def deliveries_needing_staff(*, now: datetime | None = None) -> dict:
    """For /healthz: how many deliveries need a person, and the first ones by id."""
    queryset = Delivery.objects.needing_staff(now).order_by("id")
    return {"count": queryset.count(), "ids": list(queryset.values_list("id", flat=True)[:NAMED_MAX])}
