"""Send the owner's warning e-mails (the outbox on the message row).

Each e-mail is in the owner's language and time zone, HTML + text. A warning that cannot be
sent is retried for as long as it takes, and the ladder waits for it; so does a warning for
an owner whose e-mail is not verified (held, ``messaging.owner_contacts``). A warning is claimed
before it is sent (``warning_email_due_at`` moves to the end of a lease under a row lock),
so with several workers each goes out once; a warning for a message that was reset or
revoked meanwhile is dropped by the answer itself (it clears the column). Once a send has
started it cannot be called back, so a reset waits for it to end (or says "try again")
rather than be confirmed before the old cycle's warning arrives
(``warning_email_sending_until``; messaging.services.message_reset).

The write after a sent warning is retried while the database is away
(``cradle_site.retry.retry_write``): left to its lease, the warning would be sent again. A
batch stops starting sends after ``MESSAGING_SEND_RUN_SECONDS`` and gives back what it
claimed and did not start, so django-q's timeout never kills it mid-send.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from cradle_site import leases
from cradle_site.retry import Backoff, retry_write
from messaging import escalation, history, ladder, links, owner_channels, owner_notify
from messaging.models import Message, OwnerContact, StaffAlarm, StatusLog
from messaging.owner_contacts import hold_seconds, owner_can_be_warned
from messaging.sending import SendOutcome, send_deadline

log = logging.getLogger(__name__)


def warning_backoff() -> Backoff:
    """Never exhausted: a warning fails because of our relay, and the ladder waits for it."""
    return Backoff(base=settings.MESSAGING_RETRY_BASE_SECONDS, cap=settings.MESSAGING_RETRY_MAX_SECONDS)


def _render(template: str, message: Message, **extra) -> EmailMultiAlternatives:
    owner = message.owner
    with translation.override(owner.language), timezone.override(owner.time_zone):
        context = {
            "message": message,
            "owner": owner,
            "checkin_url": links.checkin_url(message),
            "detail_url": settings.SITE_URL + reverse("messaging:message_detail", args=[message.pk]),
            "time_zone": owner.time_zone,
            **extra,
        }
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [owner.email])
    mail.attach_alternative(html, "text/html")
    return mail


def warning_email(message: Message, *, next_step_at: datetime) -> EmailMultiAlternatives:
    """The warning e-mail for the message's level; ``next_step_at`` from ``ladder.warning_next_step``.

    The deadline is the next step (the next warning, or delivery after the final one); the
    delivery date is the earliest the rest of the ladder allows from that deadline. Both come
    from the send time, never from the row's stale ``next_warning_date``: a warning delayed by
    an outage would otherwise state a deadline that had passed.
    """
    return _render("messaging/email/warning", message, **_warning_context(message, next_step_at))


def _warning_context(message: Message, next_step_at: datetime) -> dict:
    level = message.warning_level
    steps = ladder.ladder_of(message)
    return {
        "level": level,
        "count": steps.warnings,
        "is_final": level >= steps.warnings,
        "deadline": next_step_at,
        "delivery_at": ladder.schedule_from(level=level, next_at=next_step_at, ladder=steps)[-1].at,
        "checkin_url": links.checkin_url(message),
        "detail_url": settings.SITE_URL + reverse("messaging:message_detail", args=[message.pk]),
    }


def sending_deadline(now: datetime | None = None) -> datetime:
    """How long a send may keep a reset waiting: a few of the relay's timeouts, never the lease.

    Each SMTP step (connect, EHLO, STARTTLS, MAIL, RCPT, DATA) is bounded by
    ``EMAIL_TIMEOUT``, so a live sender is done well within this. A sender that died mid-send
    leaves its mark behind; once this time has passed a reset goes through again (a worker
    that stalled longer than this could still deliver its warning late: the one gap).
    """
    seconds = min(4 * settings.EMAIL_TIMEOUT, settings.MESSAGING_SEND_LEASE_SECONDS)
    return (now or timezone.now()) + timedelta(seconds=seconds)


def warning_send_under_way(message: Message, *, now: datetime | None = None) -> bool:
    """A sender is talking to the relay about this message's warning right now."""
    until = message.warning_email_sending_until
    return until is not None and until > (now or timezone.now())


def _claim_warnings(now: datetime, limit: int) -> tuple[list[int], datetime]:
    """The warning outbox's claim (see ``cradle_site.leases`` for why it is not a ``Lease``).

    A due time in the past is both "due" and "a lease that ran out", so a worker that died
    mid-send leaves a row the next claim takes again.
    """
    lease_until = leases.lease_end(settings.MESSAGING_SEND_LEASE_SECONDS, now=now)
    with transaction.atomic():
        queryset = Message.objects.filter(state=Message.State.ACTIVE, warning_email_due_at__lte=now).order_by(
            "warning_email_due_at", "id"
        )
        ids = list(leases.skip_locked(queryset).values_list("id", flat=True)[:limit])
        if ids:
            Message.objects.filter(id__in=ids, warning_email_due_at__lte=now).update(warning_email_due_at=lease_until)
    return ids, lease_until


def _give_back_warnings(ids: list[int], lease_until: datetime, now: datetime) -> None:
    # Due again at once, conditional on our lease (an answer or another worker may own it now).
    Message.objects.filter(id__in=ids, warning_email_due_at=lease_until).update(warning_email_due_at=now)


def warnings_send(*, now: datetime | None = None, limit: int = 500, run_seconds: float | None = None) -> dict[str, int]:
    now = now or timezone.now()
    deadline = send_deadline(run_seconds)
    ids, lease_until = _claim_warnings(now, limit)
    counts = {SendOutcome.SENT: 0, SendOutcome.SKIPPED: 0, SendOutcome.FAILED: 0, SendOutcome.HELD: 0}
    messages = list(Message.objects.filter(id__in=ids).select_related("owner"))
    for index, message in enumerate(messages):
        if time.monotonic() >= deadline:
            _give_back_warnings([m.pk for m in messages[index:]], lease_until, now)
            break
        # Renewed right before the send, compare-and-set on our lease (cradle_site.leases):
        # an answer during an earlier, slow send of this batch cleared it, and a worker that
        # took it back after our lease ran out wrote its own; either way it is not ours.
        # Row first (leases.compare_and_set): an answer holding the row makes this wait for
        # it, then see the answer, instead of deadlocking with it on the outbox index.
        # The same write marks the send as under way (``warning_email_sending_until``): from
        # here until the outcome is written, a reset waits for it or says "try again"
        # (messaging.services.message_reset), so a warning of the cycle a reset ended never
        # reaches the owner after the reset was confirmed.
        renewed = leases.renew(
            Message,
            pk=message.pk,
            field="warning_email_due_at",
            held=lease_until,
            seconds=settings.MESSAGING_SEND_LEASE_SECONDS,
            expect={"state": Message.State.ACTIVE, "warning_level": message.warning_level},
            warning_email_sending_until=sending_deadline(),
        )
        if renewed is None:
            counts[SendOutcome.SKIPPED] += 1
            continue
        # Each write below is conditional on the lease (and row first, like the renewal): a
        # newer warning queued meanwhile by the sweep stays queued. Each ends the send.
        mine = {"warning_email_due_at": renewed}
        done = {"warning_email_sending_until": None}
        if message.warning_level == 0:
            leases.compare_and_set(Message, pk=message.pk, expect=mine, warning_email_due_at=None, **done)
            counts[SendOutcome.SKIPPED] += 1
            continue
        if message.paused_until is not None and message.paused_until > now:
            # A pause moves a queued warning to its end (messaging.pauses); one found here
            # anyway waits for it too: nothing reaches the owner's contacts during a pause.
            leases.compare_and_set(
                Message, pk=message.pk, expect=mine, warning_email_due_at=message.paused_until, **done
            )
            counts[SendOutcome.SKIPPED] += 1
            continue
        if not owner_can_be_warned(message.owner):
            # No verified contact: a warning sent to an address nobody proved is not a
            # warning. Held like a relay outage (the ladder waits for it) until the owner
            # verifies, which releases it at once (messaging.owner_contacts).
            leases.compare_and_set(
                Message,
                pk=message.pk,
                expect=mine,
                warning_email_due_at=now + timedelta(seconds=hold_seconds()),
                **done,
            )
            counts[SendOutcome.HELD] += 1
            continue
        # The e-mail states this time and the ladder keeps it (the same rule, messaging.ladder).
        steps = ladder.ladder_of(message)
        next_at = ladder.warning_next_step(
            level=message.warning_level, due_at=message.next_warning_date, sending_at=timezone.now(), ladder=steps
        )
        lease = _StepLease(message, renewed)
        outcome = escalation.step_send(message, send=partial(_send_warning, message, next_at), hold=lease.hold, now=now)
        if outcome.lost:
            counts[SendOutcome.SKIPPED] += 1
        elif outcome.accepted_at is not None:
            # The time the e-mail stated; seconds later only if the sends outlasted the
            # rounding in it, so the next step is never less than the interval after the
            # real (latest) acceptance (ladder.warning_next_step).
            next_at = max(next_at, outcome.accepted_at + steps.interval_after(message.warning_level))
            record = partial(
                leases.compare_and_set,
                Message,
                pk=message.pk,
                expect=lease.mine,
                warning_email_due_at=None,
                warning_email_error="",
                next_warning_date=next_at,
                **done,
            )
            retry_write(record, seconds=settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS)
            counts[SendOutcome.SENT] += 1
        elif outcome.unreachable_since is not None:
            retry_write(
                partial(unreachable_record, message, lease.mine, outcome),
                seconds=settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS,
            )
            counts[SendOutcome.SENT] += 1
        else:
            # Never given up: a send fails because of our relay (an outage, bad credentials)
            # or an address is gone, and a ladder that went on without the warning could
            # deliver while the owner is alive and well. It is retried at the capped back-off
            # (or when the all-permanent rule can fire), the ladder waits, and /healthz
            # reports it until it goes out. The error is a sentence, never the relay's words.
            attempts = message.warning_email_attempts + 1
            retry_at = now + warning_backoff().delay(attempts)
            if outcome.retry_at is not None:
                retry_at = min(retry_at, max(outcome.retry_at, now))
            leases.compare_and_set(
                Message,
                pk=message.pk,
                expect=lease.mine,
                warning_email_due_at=retry_at,
                warning_email_attempts=attempts,
                warning_email_error=(outcome.error or "no contact accepted the warning")[:500],
                **done,
            )
            counts[SendOutcome.FAILED] += 1
        owner_notify.contacts_refused(owner=message.owner, refused=outcome.newly_refused)
    return counts


class _StepLease:
    """The warning's lease on the message row, renewed before each contact's send.

    Each renewal is the same compare-and-set as the first (row first, on our lease, the
    message still active at this level) and marks the send as under way again, so a reset
    waits for the send in progress or says "try again", and stops the sends still to come.
    """

    def __init__(self, message: Message, held: datetime) -> None:
        self.message = message
        self.mine = {"warning_email_due_at": held}
        self.fresh = True  # the caller renewed it right before the first send

    def hold(self) -> bool:
        if self.fresh:
            self.fresh = False
            return True
        renewed = leases.renew(
            Message,
            pk=self.message.pk,
            field="warning_email_due_at",
            held=self.mine["warning_email_due_at"],
            seconds=settings.MESSAGING_SEND_LEASE_SECONDS,
            expect={"state": Message.State.ACTIVE, "warning_level": self.message.warning_level},
            warning_email_sending_until=sending_deadline(),
        )
        if renewed is None:
            return False
        self.mine = {"warning_email_due_at": renewed}
        return True


def _send_warning(message: Message, next_at: datetime, target: owner_channels.Target) -> None:
    """Warning ``message.warning_level`` to one contact: the e-mail, or the short text elsewhere."""
    what = f"warning for message {message.pk}"
    if target.kind == OwnerContact.Kind.EMAIL:
        owner_channels.send_email(target, warning_email(message, next_step_at=next_at), what=what)
        return
    subject, text = owner_channels.render_short("warning", message.owner, **_warning_context(message, next_at))
    cycle = int(message.cycle_started_at.timestamp() * 1_000_000)
    send_id = f"warning-{message.pk}-{message.warning_level}-{cycle}-{target.key}"
    owner_channels.send_text(target, subject=subject, text=text, what=what, send_id=send_id)


def unreachable_record(message: Message, mine: dict, outcome) -> bool:
    """The all-permanent rule fired: the step counts as sent now; history and staff alarm with it."""
    now = timezone.now()
    level = message.warning_level
    with transaction.atomic():
        done = leases.compare_and_set(
            Message,
            pk=message.pk,
            expect=mine,
            warning_email_due_at=None,
            warning_email_error="",
            warning_email_sending_until=None,
            next_warning_date=now + ladder.ladder_of(message).interval_after(level),
        )
        if not done:
            return False
        StatusLog.objects.create(
            message=message,
            created_at=now,
            **history.owner_unreachable(
                level=level, since=outcome.unreachable_since, contacts=outcome.refused_keys, grace=escalation.grace()
            ),
        )
        StaffAlarm.objects.create(
            message=message, level=level, reason=StaffAlarm.Reason.UNREACHABLE, created_at=now, next_attempt_at=now
        )
    return True


def warnings_failing() -> int:
    """Warning e-mails that failed at least once and are still waiting to go out."""
    return Message.objects.warning_email_failing().count()
