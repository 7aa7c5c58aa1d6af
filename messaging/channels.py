"""Delivery channels: e-mail, webhook and SMS behind one small interface.

A channel's ``send(recipient=..., message=..., delivery_id=..., link_url=..., link_expires_at=...)``
sends the recipient the notice of ``messaging.delivery_notice`` (the link to their delivery page) and returns on success and raises
``ChannelError`` with a readable reason on failure. Whether a failure can pass is decided
here and only here (``ChannelError.kind``; for e-mail, from ``cradle_site.mail_errors``'s
kind): the far end refused this address for good (SMTP 5xx for the recipient, a webhook's
404 or 410, a mail no retry can build) is PERMANENT and ``messaging.delivery`` stops and alerts staff; everything else (a relay
outage, a refused connection, a 5xx webhook, our own credentials) is TRANSIENT and is
retried for as long as it takes. Every attempt of one delivery carries the same
``delivery_id`` where the channel has a place for it (the webhook's ``webhook-id``, the
e-mail's Message-ID), so a receiver can drop a copy; a failure after which the far end may
have the message anyway (no answer in time) is a ``ChannelMaybeSent``.
Contacts are validated here too (``validate_contact``), so forms, the API and services
refuse the same things with the same words.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from cradle_site import webhooks
from cradle_site.mail_errors import mail_failure
from cradle_site.outbound import OutboundError, open_url, operator_hosts, read_capped
from messaging.delivery_notice import (  # noqa: F401  (delivery_subject: its old home)
    delivery_notice_build,
    delivery_notice_payload,
    delivery_notice_sms,
    delivery_subject,
)
from messaging.models import Message, Recipient

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class FailureKind(StrEnum):
    """Why a delivery attempt failed, as the history (``error_kind``) and the delivery record it.

    Rows written before the split into transient and permanent said ``channel``; migration
    0006 rewrote them to ``transient``, which is how they were treated (retried).
    """

    TRANSIENT = "transient"  # the far end or the way to it failed; a later attempt may pass
    PERMANENT = "permanent"  # refused for good (the address no longer exists); retrying cannot help
    CRASH = "crash"  # not a ChannelError: a bug on our side (logged with its traceback), retried


class ChannelError(Exception):
    """The channel could not hand the message over; ``kind`` says whether a retry can help."""

    maybe_sent = False  # True: the request left and no answer said how it went

    def __init__(self, reason: str, *, kind: FailureKind = FailureKind.TRANSIENT) -> None:
        super().__init__(reason)
        self.kind = kind

    @property
    def permanent(self) -> bool:
        return self.kind == FailureKind.PERMANENT


class ChannelMaybeSent(ChannelError):
    """The request was sent but no answer came in time: the far end may have the message.

    Transient: retried with the same delivery id, and the history says it may have arrived.
    """

    maybe_sent = True


# Webhook answers that say the address is gone. Any other status may pass later: a 5xx, a
# 429, even a 401/403 (a receiver's misconfiguration is theirs to fix, and the delivery
# alarm tells staff if it lasts).
WEBHOOK_GONE = frozenset({404, 410})


def sms_available() -> bool:
    return bool(settings.MESSAGING_SMS_GATEWAY)


def validate_contact(contact_type: str, contact: str) -> str:
    """The cleaned contact, or ``ValidationError`` saying what is wrong for this type."""
    contact = (contact or "").strip()
    if contact_type == Recipient.ContactType.EMAIL:
        try:
            validate_email(contact)
        except ValidationError:
            raise ValidationError(_("Enter a valid e-mail address."), code="invalid_email") from None
    elif contact_type == Recipient.ContactType.WEBHOOK:
        if not contact:
            raise ValidationError(_("Enter an https:// URL for a webhook."), code="invalid_url")
        contact = webhooks.clean_webhook_url(contact)
    elif contact_type == Recipient.ContactType.SMS:
        if not sms_available():
            raise ValidationError(
                _("SMS is not available on this server (no SMS gateway is configured). Choose e-mail or a webhook."),
                code="sms_unavailable",
            )
        if not E164.match(contact):
            raise ValidationError(
                _("Enter the phone number in international format, e.g. +14155550123."), code="invalid_phone"
            )
    else:
        raise ValidationError(_("Unknown contact type."), code="invalid_type")
    return contact


class EmailChannel:
    def build(
        self, *, recipient: Recipient, message: Message, delivery_id: str, link_url: str = "", link_expires_at=None
    ) -> EmailMultiAlternatives:
        """The delivery notice e-mail exactly as ``send`` sends it (the owner's preview shows this too,
        with a sample link: ``messaging.delivery_notice``)."""
        notice = delivery_notice_build(
            message=message, recipient=recipient, link_url=link_url or None, expires_at=link_expires_at
        )
        # The same Message-ID on every attempt: a mail system that got it twice can tell.
        headers = {"Message-ID": f"<{delivery_id}@{DNS_NAME}>"}
        mail = EmailMultiAlternatives(
            notice.subject, notice.text, settings.DEFAULT_FROM_EMAIL, [recipient.contact], headers=headers
        )
        mail.attach_alternative(notice.html, "text/html")
        return mail

    def send(
        self, *, recipient: Recipient, message: Message, delivery_id: str, link_url: str = "", link_expires_at=None
    ) -> None:
        mail = self.build(
            recipient=recipient,
            message=message,
            delivery_id=delivery_id,
            link_url=link_url,
            link_expires_at=link_expires_at,
        )
        try:
            mail.send()
        except Exception as exc:  # SMTP errors come in many classes: mail_failure sorts them
            # A sentence and a reply code, never the relay's words (cradle_site.mail_errors);
            # permanent when the relay refused this address or this mail with a 5xx. A 5xx for
            # our sender or log-in is about our relay's settings: transient, staff fix it.
            error = mail_failure(exc, what=f"delivery {delivery_id}")
            kind = FailureKind.PERMANENT if error.permanent else FailureKind.TRANSIENT
            raise ChannelError(f"e-mail: {error}", kind=kind) from exc


class WebhookChannel:
    """POST a JSON body signed with the recipient's own secret (``cradle_site.webhooks``)."""

    @staticmethod
    def body(*, recipient: Recipient, message: Message, link_url: str = "", link_expires_at=None) -> bytes:
        """The JSON body exactly as ``send`` posts it (the owner's preview shows this too, with a sample link)."""
        payload = delivery_notice_payload(
            message=message, recipient=recipient, link_url=link_url or None, expires_at=link_expires_at
        )
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def send(
        self, *, recipient: Recipient, message: Message, delivery_id: str, link_url: str = "", link_expires_at=None
    ) -> None:
        body = self.body(recipient=recipient, message=message, link_url=link_url, link_expires_at=link_expires_at)
        if not recipient.webhook_secret:
            # Every webhook recipient gets one when it is written (WebhookSecretField): a row
            # without one was written around the model; staff see this and the alarm.
            raise ChannelError("webhook: the recipient has no signing secret")
        headers = webhooks.signed_headers(
            secret=recipient.webhook_secret, webhook_id=delivery_id, at=timezone.now(), body=body
        )
        status = _post(recipient.contact, channel="webhook", data=body, headers=headers)
        if not 200 <= status < 300:
            kind = FailureKind.PERMANENT if status in WEBHOOK_GONE else FailureKind.TRANSIENT
            raise ChannelError(f"webhook: HTTP {status}", kind=kind)


@contextmanager
def _posting(url: str, *, channel: str, allowed_hosts=(), **kwargs):
    """POST through the checked session (no redirect followed); yields the response.

    The whole exchange, reading included, ends within twice ``MESSAGING_WEBHOOK_TIMEOUT``
    (what check E012 counts on), however slowly the far end answers. The error is
    ``outbound_failure``'s sentence: the host and what went wrong, never the URL or the
    socket's words.
    """
    timeout = settings.MESSAGING_WEBHOOK_TIMEOUT
    try:
        with open_url(
            url,
            method="POST",
            timeout=timeout,
            deadline=2 * timeout,
            allowed_hosts=allowed_hosts,
            ok_statuses=None,
            **kwargs,
        ) as response:
            yield response
    except OutboundError as exc:
        if exc.may_have_arrived:
            raise ChannelMaybeSent(f"{channel}: {exc}") from exc
        raise ChannelError(f"{channel}: {exc}") from exc


def _post(url: str, *, channel: str, allowed_hosts=(), **kwargs) -> int:
    """POST and return the status; the body is not read."""
    with _posting(url, channel=channel, allowed_hosts=allowed_hosts, **kwargs) as response:
        return response.status_code


ANSWER_MAX_BYTES = 64 * 1024


def post_reading(url: str, *, channel: str, allowed_hosts=(), **kwargs) -> tuple[int, bytes]:
    """``_post``, but with the answer's body (at most ``ANSWER_MAX_BYTES``): for the APIs whose
    body says why they refused (the SMS gateway, Telegram's Bot API)."""
    with _posting(url, channel=channel, allowed_hosts=allowed_hosts, **kwargs) as response:
        return response.status_code, read_capped(response, max_bytes=ANSWER_MAX_BYTES)


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# What a gateway says about a number that can never receive a text. Ours ("invalid_number"),
# and Twilio's codes for "invalid To number" and "not a mobile number".
SMS_INVALID_NUMBER = frozenset({"invalid_number", "21211", "21614"})


class HttpSmsGateway:
    """A generic HTTP SMS gateway: POST {"to", "text"} with a bearer token.

    Set ``MESSAGING_SMS_GATEWAY=messaging.channels.HttpSmsGateway`` and
    ``MESSAGING_SMS_GATEWAY_URL`` / ``_TOKEN``; any class with ``send(to, text)`` works.

    The answer it expects: any 2xx is accepted. A 4xx whose JSON body has ``"error":
    "invalid_number"`` (or Twilio's ``"code": 21211`` / ``21614``) says the number can never
    receive a text: PERMANENT. Every other answer (5xx, 429, another 4xx: our token, our
    account) is TRANSIENT and retried.
    """

    def __init__(self, *, url: str = "", token: str = "") -> None:
        self.url = url
        self.token = token

    def send(self, to: str, text: str) -> None:
        # The gateway is the operator's: it may sit inside the network if OUTBOUND_ALLOWED_HOSTS lists it.
        status, body = post_reading(
            self.url,
            channel="sms",
            allowed_hosts=operator_hosts(),
            json={"to": to, "text": text},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        if 200 <= status < 300:
            return
        answer = _json(body)
        said = {str(answer.get("error", "")), str(answer.get("code", ""))}
        if 400 <= status < 500 and said & SMS_INVALID_NUMBER:
            raise ChannelError(
                f"sms: HTTP {status}, the gateway says the number is invalid", kind=FailureKind.PERMANENT
            )
        raise ChannelError(f"sms: HTTP {status}")


class SmsChannel:
    def send(
        self, *, recipient: Recipient, message: Message, delivery_id: str, link_url: str = "", link_expires_at=None
    ) -> None:
        # A text message has no place for ``delivery_id``; gateways take (to, text) only.
        if not sms_available():
            raise ChannelError("sms: no SMS gateway is configured")
        gateway = import_string(settings.MESSAGING_SMS_GATEWAY)(**settings.MESSAGING_SMS_GATEWAY_OPTIONS)
        gateway.send(recipient.contact, self.text(message, link_url=link_url))

    @staticmethod
    def text(message: Message, *, link_url: str = "") -> str:
        """The text message exactly as ``send`` hands it to the gateway (a sample link in the preview)."""
        return delivery_notice_sms(message=message, link_url=link_url or None)


CHANNELS = {
    Recipient.ContactType.EMAIL: EmailChannel,
    Recipient.ContactType.WEBHOOK: WebhookChannel,
    Recipient.ContactType.SMS: SmsChannel,
}


def channel_for(contact_type: str):
    try:
        return CHANNELS[contact_type]()
    except KeyError:
        raise ChannelError(f"unknown contact type {contact_type!r}") from None
