"""Send the owner's e-mails from the outbox (``Notice``): warnings and failing recipients.

Each e-mail is in the owner's language and time zone, HTML + text. A warning whose
message has moved on since (reset, revoked, or already at another level) is skipped, so
the owner never reads a stale warning.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from messaging import ladder, links, outbox
from messaging.models import Message, Notice

log = logging.getLogger(__name__)


def notice_email(notice: Notice) -> EmailMultiAlternatives:
    message = notice.message
    owner = message.owner
    with translation.override(owner.language), timezone.override(owner.time_zone):
        context = {
            "notice": notice,
            "message": message,
            "owner": owner,
            "level": notice.level,
            "is_final": notice.level == ladder.DELIVERY_STEP - 1,
            "deadline": notice.deadline,
            "checkin_url": links.checkin_url(message),
            "detail_url": settings.SITE_URL + reverse("messaging:message_detail", args=[message.pk]),
            "time_zone": owner.time_zone,
        }
        base = "messaging/email/warning" if notice.kind == Notice.Kind.WARNING else "messaging/email/delivery_failed"
        subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
        text = render_to_string(f"{base}.txt", context)
        html = render_to_string(f"{base}.html", context)
    mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [owner.email])
    mail.attach_alternative(html, "text/html")
    return mail


def _is_stale(notice: Notice) -> bool:
    message = notice.message
    return notice.kind == Notice.Kind.WARNING and (
        message.state != Message.State.ACTIVE or message.warning_level != notice.level
    )


def notices_send(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    now = now or timezone.now()
    due = Notice.objects.filter(
        Q(state=Notice.State.PENDING, next_attempt_at__lte=now) | Q(state=Notice.State.SENDING, lease_until__lt=now)
    )
    ids = outbox.claim(due, now=now, limit=limit, sending_state=Notice.State.SENDING)
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    sent, skipped = [], []
    for notice in Notice.objects.filter(id__in=ids).select_related("message__owner"):
        if _is_stale(notice):
            skipped.append(notice.pk)
            continue
        try:
            notice_email(notice).send()
        except Exception as exc:  # SMTP trouble: retry later, never drop silently
            log.warning("notice %s not sent: %s", notice.pk, exc)
            attempts = notice.attempts + 1
            final = attempts >= settings.MESSAGING_DELIVERY_MAX_ATTEMPTS
            Notice.objects.filter(pk=notice.pk).update(
                state=Notice.State.FAILED if final else Notice.State.PENDING,
                attempts=attempts,
                last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
                next_attempt_at=now + outbox.backoff(attempts),
                lease_until=None,
            )
            counts["failed"] += 1
        else:
            # At once, not at the end of the batch: a crash later must not resend this one.
            Notice.objects.filter(pk=notice.pk).update(
                state=Notice.State.SENT, sent_at=timezone.now(), lease_until=None
            )
            sent.append(notice.pk)
    Notice.objects.filter(id__in=skipped).update(state=Notice.State.SKIPPED, lease_until=None)
    counts["sent"], counts["skipped"] = len(sent), len(skipped)
    return counts
