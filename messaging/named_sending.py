"""The job that sends "you are named" notices (``messaging.named``), claimed and retried like deliveries.

Each ``NamedNotice`` row is claimed with ``NAMED_LEASE`` (``cradle_site.leases``: pending ->
sending under a lease, so two workers never send one row), held again right before its send
under the message's row lock (the message must still be on its ladder and still name the
address, else the row is cancelled), and released by the UPDATE that records the outcome:

- sent: the row forgets its token (only the hash stays) and the recipient reads "asked on …";
- refused for good (an SMTP 5xx for the address, ``cradle_site.mail_errors``): the row is
  ``failed`` and the recipient reads "this address does not work", with the reason's sentence
  (never the relay's words); not retried until the owner sends it again;
- anything else (a relay outage, a timeout, a bug of ours): back to pending at the capped
  back-off of deliveries, for as long as the message waits.

Every attempt carries the same Message-ID and the same link, so a second copy after a worker
died between the send and its record confirms the same thing. The notice is in the owner's
language and never holds the message's title or text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cradle_site import leases
from cradle_site.mail_errors import mail_failure
from cradle_site.retry import retry_write
from cradle_site.text import one_line
from messaging.delivery import delivery_backoff
from messaging.delivery_notice import sender_name
from messaging.models import NAMED_LEASE, Message, NamedNotice, Recipient
from messaging.named import named_recipient, named_url
from messaging.sending import SendOutcome, send_deadline


@dataclass(frozen=True)
class NamedMail:
    subject: str
    text: str
    html: str


def named_notice_build(*, message: Message, recipient: Recipient, link_url: str) -> NamedMail:
    """The notice: who named them, what it means, the confirm link. Never the title or the text."""
    with translation.override(message.owner.language):
        context = {"recipient": recipient, "sender": sender_name(message), "link_url": link_url}
        subject = one_line(_("%(name)s named you as a recipient on Cradle") % {"name": sender_name(message)})
        text = render_to_string("messaging/email/named.txt", context)
        html = render_to_string("messaging/email/named.html", context)
    return NamedMail(subject=subject, text=text, html=html)


def named_notices_send(
    *, now: datetime | None = None, limit: int = 200, run_seconds: float | None = None
) -> dict[str, int]:
    """Send the due notices; return counts of sent, skipped (no longer wanted) and failed attempts."""
    now = now or timezone.now()
    deadline = send_deadline(run_seconds)
    claim = NAMED_LEASE.claim(NamedNotice.objects.all(), now=now, limit=limit)
    counts = {SendOutcome.SENT: 0, SendOutcome.SKIPPED: 0, SendOutcome.FAILED: 0}
    notices = list(NamedNotice.objects.filter(id__in=claim.ids).select_related("message__owner"))
    for index, notice in enumerate(notices):
        if time.monotonic() >= deadline:
            NAMED_LEASE.give_back([n.pk for n in notices[index:]], claim.lease_until)
            break
        recipient = _hold_for_send(notice, claim.lease_until)
        if recipient is None:
            counts[SendOutcome.SKIPPED] += 1
            continue
        try:
            _send(notice, recipient)
        except Exception as exc:  # SMTP errors come in many classes: mail_failure sorts them (a bug of ours: transient)
            error = mail_failure(exc, what=f"named notice {notice.pk}")
            _record_failure(notice, f"e-mail: {error}", now, permanent=error.permanent)
            counts[SendOutcome.FAILED] += 1
        else:
            _record_sent(notice, recipient, sent_at=timezone.now())
            counts[SendOutcome.SENT] += 1
    return counts


def _send(notice: NamedNotice, recipient: Recipient) -> None:
    mail = named_notice_build(message=notice.message, recipient=recipient, link_url=named_url(notice.pending_token))
    email = EmailMultiAlternatives(
        mail.subject,
        mail.text,
        settings.DEFAULT_FROM_EMAIL,
        [recipient.contact],
        # The same Message-ID on every attempt: a mail system that got it twice can tell.
        headers={"Message-ID": f"<named-{notice.pk}-{notice.token_hash[:16]}@{DNS_NAME}>"},
    )
    email.attach_alternative(mail.html, "text/html")
    email.send()


def _hold_for_send(notice: NamedNotice, lease_until: datetime) -> Recipient | None:
    """The recipient to send to, with the lease renewed; None (and the row cancelled) when no longer wanted.

    Under the message's row lock, as a delivery's hold: an edit or a revoke in flight holds it,
    so this reads what it committed.
    """
    with transaction.atomic():
        state = Message.objects.select_for_update().filter(pk=notice.message_id).values_list("state", flat=True).first()
        recipient = named_recipient(notice)
        wanted = (
            state == Message.State.ACTIVE
            and recipient is not None
            and recipient.tell_named
            and recipient.contact_type == Recipient.ContactType.EMAIL
            and recipient.named_confirmed_at is None
        )
        if not wanted:
            leases.compare_and_set(
                NamedNotice,
                pk=notice.pk,
                expect={"state": NamedNotice.State.SENDING, "lease_until": lease_until},
                **NAMED_LEASE.released(state=NamedNotice.State.CANCELLED, pending_token=""),
            )
            return None
        if NAMED_LEASE.hold(notice.pk, lease_until) is None:
            return None  # the batch outlasted its lease and another worker took it back
    return recipient


def _record_sent(notice: NamedNotice, recipient: Recipient, *, sent_at: datetime) -> None:
    """Retried while the database is away: the recipient has the mail, and a row left to its
    lease would be sent again (with the same link). Running it twice changes nothing."""

    def write() -> None:
        NamedNotice.objects.filter(pk=notice.pk).update(
            **NAMED_LEASE.released(
                state=NamedNotice.State.SENT,
                attempts=notice.attempts + 1,
                sent_at=sent_at,
                pending_token="",
                last_error="",
            )
        )
        Recipient.objects.filter(message_id=notice.message_id, contact_hash=notice.contact_hash).update(
            named_notice_sent_at=sent_at, named_failed_at=None, named_failed_reason=""
        )

    retry_write(write, seconds=settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS)


def _record_failure(notice: NamedNotice, error: str, now: datetime, *, permanent: bool) -> None:
    attempts = notice.attempts + 1
    error = error[:300]
    with transaction.atomic():
        moved = NamedNotice.objects.filter(pk=notice.pk, state=NamedNotice.State.SENDING).update(
            **NAMED_LEASE.released(
                state=NamedNotice.State.FAILED if permanent else NamedNotice.State.PENDING,
                attempts=attempts,
                last_error=error,
                next_attempt_at=now + delivery_backoff().delay(attempts),
                **({"pending_token": ""} if permanent else {}),
            )
        )
        if moved and permanent:
            Recipient.objects.filter(message_id=notice.message_id, contact_hash=notice.contact_hash).update(
                named_failed_at=now, named_failed_reason=error
            )
