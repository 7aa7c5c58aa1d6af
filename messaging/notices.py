"""Send the owner's e-mails: warnings (outbox on the message row) and failing recipients (Notice).

Each e-mail is in the owner's language and time zone, HTML + text. A warning that cannot be
sent is retried for as long as it takes, and the ladder waits for it. A warning is claimed
before it is sent (``warning_email_due_at`` moves to the end of a lease under a row lock),
so with several workers each goes out once; a warning for a message that was reset or
revoked meanwhile is dropped by the answer itself (it clears the column).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from messaging import ladder, links, outbox
from messaging.models import MAX_LEVEL, Message, Notice

log = logging.getLogger(__name__)


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


def warning_email(message: Message) -> EmailMultiAlternatives:
    level = message.warning_level
    # The deadline is the next step: the next warning, or delivery after the final one.
    return _render(
        "messaging/email/warning",
        message,
        level=level,
        is_final=level == MAX_LEVEL,
        deadline=message.next_warning_date,
        delivery_after_days=sum(settings.MESSAGING_LADDER_DAYS[level - 1 :]),
    )


def _claim_warnings(now: datetime, limit: int) -> tuple[list[int], datetime]:
    lease_until = now + timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS)
    with transaction.atomic():
        queryset = Message.objects.filter(state=Message.State.ACTIVE, warning_email_due_at__lte=now).order_by(
            "warning_email_due_at", "id"
        )
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        ids = list(queryset.values_list("id", flat=True)[:limit])
        if ids:
            Message.objects.filter(id__in=ids).update(warning_email_due_at=lease_until)
    return ids, lease_until


def warnings_send(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    now = now or timezone.now()
    ids, lease_until = _claim_warnings(now, limit)
    counts = {Notice.State.SENT: 0, Notice.State.SKIPPED: 0, Notice.State.FAILED: 0}
    for message in Message.objects.filter(id__in=ids).select_related("owner"):
        # Renewed right before the send, compare-and-set on our lease (see messaging.outbox):
        # an answer during an earlier, slow send of this batch cleared it, and a worker that
        # took it back after our lease ran out wrote its own; either way it is not ours.
        renewed = outbox.lease_from_now()
        held = Message.objects.filter(
            pk=message.pk,
            warning_email_due_at=lease_until,
            state=Message.State.ACTIVE,
            warning_level=message.warning_level,
        ).update(warning_email_due_at=renewed)
        if not held:
            counts[Notice.State.SKIPPED] += 1
            continue
        # Conditional on the lease: a newer warning queued meanwhile by the sweep stays queued.
        mine = Message.objects.filter(pk=message.pk, warning_email_due_at=renewed)
        if message.warning_level == 0:
            mine.update(warning_email_due_at=None)
            counts[Notice.State.SKIPPED] += 1
            continue
        try:
            warning_email(message).send()
        except Exception as exc:  # SMTP trouble: retry later, never drop silently
            log.warning("warning e-mail for message %s not sent: %s", message.pk, exc)
            attempts = message.warning_email_attempts + 1
            # Never given up: a send fails because of our relay (an outage, bad credentials),
            # and a ladder that went on without the warning could deliver while the owner
            # is alive and well. It is retried at the capped back-off, the ladder waits, and
            # /healthz reports it until it goes out.
            mine.update(
                warning_email_due_at=now + outbox.backoff(attempts),
                warning_email_attempts=attempts,
                warning_email_error=f"{exc.__class__.__name__}: {exc}"[:500],
            )
            counts[Notice.State.FAILED] += 1
        else:
            # At once, not at the end of the batch: a crash later must not resend this one.
            # The next step counts from when the warning actually went out, so an e-mail
            # delayed by an SMTP outage still leaves the owner the whole interval.
            sent_at = timezone.now()
            next_at = max(message.next_warning_date, sent_at + ladder.interval_after(message.warning_level))
            mine.update(warning_email_due_at=None, warning_email_error="", next_warning_date=next_at)
            counts[Notice.State.SENT] += 1
    return counts


def warnings_failing() -> int:
    """Warning e-mails that failed at least once and are still waiting to go out."""
    return Message.objects.warning_email_failing().count()


def notices_send(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Warnings first, then the other notices (a recipient that keeps failing)."""
    now = now or timezone.now()
    counts = warnings_send(now=now, limit=limit)
    due = Notice.objects.filter(
        Q(state=Notice.State.PENDING, next_attempt_at__lte=now) | Q(state=Notice.State.SENDING, lease_until__lt=now)
    )
    ids, lease_until = outbox.claim(due, now=now, limit=limit, sending_state=Notice.State.SENDING)
    for notice in Notice.objects.filter(id__in=ids).select_related("message__owner"):
        if outbox.hold(Notice, notice.pk, sending_state=Notice.State.SENDING, lease_until=lease_until) is None:
            continue
        try:
            _render("messaging/email/delivery_failed", notice.message, notice=notice).send()
        except Exception as exc:
            attempts = notice.attempts + 1
            final = attempts >= settings.MESSAGING_DELIVERY_MAX_ATTEMPTS
            Notice.objects.filter(pk=notice.pk).update(
                state=Notice.State.FAILED if final else Notice.State.PENDING,
                attempts=attempts,
                last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
                next_attempt_at=now + outbox.backoff(attempts),
                lease_until=None,
            )
            counts[Notice.State.FAILED] += 1
        else:
            Notice.objects.filter(pk=notice.pk).update(
                state=Notice.State.SENT, sent_at=timezone.now(), lease_until=None
            )
            counts[Notice.State.SENT] += 1
    return counts
