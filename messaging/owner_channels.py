"""Sending to the owner's own contacts: the account e-mail, other e-mails, SMS, Telegram, push URLs.

One ``Target`` per contact (``targets_of``), one ``send`` for every kind; failures are the
delivery channels' ``ChannelError`` with its ``FailureKind`` (``messaging.channels``), so a
warning and a delivery classify a refusal the same way: SMTP 5xx for the address
(``cradle_site.mail_errors``), Telegram's "chat not found"/"bot was blocked"
(``messaging.telegram``), the SMS gateway's invalid-number answer and a push URL's 404/410
are PERMANENT; a relay outage, a timeout, an SMTP 4xx and a gateway's 5xx are TRANSIENT.

What is sent: e-mail gets the full warning e-mail (``messaging.notices.warning_email``); SMS,
Telegram and push get a short text with the level, the deadline and the check-in link —
never the message's title, content or recipients (a text passes through the carrier's and
Telegram's hands).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from cradle_site.mail_errors import mail_failure
from messaging import telegram
from messaging.channels import WEBHOOK_GONE, ChannelError, FailureKind, _post, sms_available
from messaging.owner_contact_models import ACCOUNT_KEY, OwnerContact


@dataclass(frozen=True)
class Target:
    key: str  # WarningSend.contact_key
    kind: str  # OwnerContact.Kind
    address: str
    contact: OwnerContact | None = None  # None: the account e-mail

    @property
    def is_account(self) -> bool:
        return self.contact is None


def account_target(owner) -> Target | None:
    if owner.email_verified_at is None or not owner.email:
        return None
    return Target(key=ACCOUNT_KEY, kind=OwnerContact.Kind.EMAIL, address=owner.email)


def contact_target(contact: OwnerContact) -> Target:
    return Target(key=contact.key, kind=contact.kind, address=contact.address, contact=contact)


def targets_of(owner, contacts: list[OwnerContact] | None = None) -> list[Target]:
    """Every verified contact of ``owner``: the account e-mail first, then the others by age."""
    if contacts is None:
        contacts = list(OwnerContact.objects.owned_by(owner).verified().order_by("created_at", "id"))
    account = account_target(owner)
    return ([account] if account else []) + [contact_target(c) for c in contacts if c.is_verified]


def send_email(target: Target, mail: EmailMultiAlternatives, *, what: str) -> None:
    mail.to = [target.address]
    try:
        mail.send()
    except Exception as exc:  # SMTP errors come in many classes: mail_failure sorts them
        error = mail_failure(exc, what=what)
        kind = FailureKind.PERMANENT if error.permanent else FailureKind.TRANSIENT
        raise ChannelError(str(error), kind=kind) from exc


def send_text(target: Target, *, subject: str, text: str, what: str, send_id: str = "") -> None:
    """Send a short ``text`` (``subject`` for e-mail and push titles) to ``target``; ``ChannelError`` on failure.

    ``send_id`` names this send the same on every retry (a warning: its message, level, cycle
    and contact): a push URL gets it as ``Idempotency-Key``, so a receiver that took a POST we
    timed out on can drop the retry's copy (promise 2, as for deliveries).
    """
    if target.kind == OwnerContact.Kind.EMAIL:
        send_email(target, EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL), what=what)
    elif target.kind == OwnerContact.Kind.SMS:
        if not sms_available():
            raise ChannelError("sms: no SMS gateway is configured")
        gateway = import_string(settings.MESSAGING_SMS_GATEWAY)(**settings.MESSAGING_SMS_GATEWAY_OPTIONS)
        gateway.send(target.address, f"{subject}\n{text}")
    elif target.kind == OwnerContact.Kind.TELEGRAM:
        telegram.send_message(chat_id=target.address, text=f"{subject}\n\n{text}")
    elif target.kind == OwnerContact.Kind.PUSH:
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if send_id:
            headers["Idempotency-Key"] = send_id
        if subject.isascii():
            headers["Title"] = subject  # ntfy's title; the body carries it too
        body = f"{subject}\n{text}".encode()
        status = _post(target.address, channel="push", data=body, headers=headers)
        if not 200 <= status < 300:
            kind = FailureKind.PERMANENT if status in WEBHOOK_GONE else FailureKind.TRANSIENT
            raise ChannelError(f"push: HTTP {status}", kind=kind)
    else:
        raise ChannelError(f"unknown contact kind {target.kind!r}")


def render_short(template: str, owner, **context) -> tuple[str, str]:
    """(subject, text) of ``messaging/owner/<template>`` in the owner's language and time zone."""
    with translation.override(owner.language), timezone.override(owner.time_zone):
        context = {"owner": owner, "time_zone": owner.time_zone, **context}
        subject = " ".join(render_to_string(f"messaging/owner/{template}_subject.txt", context).split())
        text = render_to_string(f"messaging/owner/{template}.txt", context).strip()
    return subject, text


def send_code(*, contact: OwnerContact, code: str) -> None:
    """The verification code, to the contact being verified (never to the owner's other contacts)."""
    from messaging.owner_contacts import code_lifetime

    subject, text = render_short("code", contact.owner, code=code, minutes=int(code_lifetime().total_seconds() // 60))
    send_text(contact_target(contact), subject=subject, text=text, what=f"code for owner contact {contact.pk}")
