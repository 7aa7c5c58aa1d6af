"""Delivery channels: e-mail, webhook and SMS behind one small interface.

A channel's ``send(recipient=..., message=..., delivery_id=...)`` returns on success and raises
``ChannelError`` with a readable reason on failure. Whether a failure can pass is decided
here and only here (``ChannelError.kind``): the far end refused this address for good
(SMTP 5xx for the recipient, a webhook's 404 or 410, a mail no retry can build) is
PERMANENT and ``messaging.delivery`` stops and alerts staff; everything else (a relay
outage, a refused connection, a 5xx webhook, our own credentials) is TRANSIENT and is
retried for as long as it takes. Every attempt of one delivery carries the same
``delivery_id`` where the channel has a place for it (the webhook's ``webhook-id``, the
e-mail's Message-ID), so a receiver can drop a copy; a failure after which the far end may
have the message anyway (no answer in time) is a ``ChannelMaybeSent``.
Contacts are validated here too (``validate_contact``), so forms, the API and services
refuse the same things with the same words.
"""

from __future__ import annotations

import ipaddress
import json
import re
import smtplib
from enum import StrEnum

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.core.validators import URLValidator, validate_email
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from urllib3.exceptions import LocationParseError, MaxRetryError
from urllib3.util import parse_url

from cradle_site.outbound import UnsafeURL, public_post
from cradle_site.text import one_line
from messaging import webhook_signing
from messaging.models import Message, Recipient

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# A host written as a number in a form other than four decimal parts (2130706433, 0x7f.1,
# 0177.0.0.1, 127.1): resolvers read these as addresses, differently from each other.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+))*\.?$", re.IGNORECASE)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


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


def _smtp_kind(exc: Exception) -> FailureKind:
    """PERMANENT when the relay refused this recipient or this mail with a 5xx, or Django could not build it.

    A 5xx for the sender (``SMTPSenderRefused``) or the log-in (``SMTPAuthenticationError``)
    is about our relay's configuration, not the address: transient, staff fix it.
    """
    if isinstance(exc, BadHeaderError | UnicodeEncodeError):
        return FailureKind.PERMANENT  # the same mail fails the same way every time
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reason in exc.recipients.values()]
        return FailureKind.PERMANENT if codes and min(codes) >= 500 else FailureKind.TRANSIENT
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        return FailureKind.TRANSIENT
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500:
        return FailureKind.PERMANENT  # e.g. 550 / 554 after DATA: each mail has one recipient
    return FailureKind.TRANSIENT


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
        _webhook_url_syntax_ok(contact)
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


def _webhook_url_syntax_ok(url: str) -> None:
    """Refuse a webhook URL by its text alone: never a DNS lookup inside a request.

    Two hundred recipients whose names resolve slowly held a worker for minutes, so the
    request checks only what the text shows (https, no user name or backslash, which parsers
    read differently, and no address literal inside this server's network); whether the name
    leads outside is checked where the connection is made, at send time (``public_post``).
    outbound12 provides check_url_syntax; swap when merged.
    """
    invalid = ValidationError(_("Enter an https:// URL for a webhook."), code="invalid_url")
    if "\\" in url or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise invalid
    try:
        URLValidator(schemes=["https"])(url)
        parts = parse_url(url)
    except (ValidationError, LocationParseError):
        raise invalid from None
    if parts.scheme != "https" or not parts.host:
        raise invalid
    if parts.auth is not None or "@" in (parts.netloc or ""):
        raise ValidationError(_("A webhook address may not contain a user name or password."), code="invalid_url")
    host = parts.host.strip("[]").split("%")[0].rstrip(".").lower()
    if settings.OUTBOUND_ALLOW_PRIVATE:
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None and (_NUMERIC_HOST.match(host) or host == "localhost" or host.endswith(".localhost")):
        raise _private(parts.host)
    if address is not None and not _is_public(address):
        raise _private(parts.host)


def _private(host: str) -> ValidationError:
    return ValidationError(
        _("%(host)s is an address inside this server's network; give a public address.") % {"host": host},
        code="private_address",
    )


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable, and so is any IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, compatible)."""
    if not address.is_global or address.is_multicast or address.is_reserved or address.is_unspecified:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in _NAT64 or address in _IPV4_COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _is_public(embedded)
    return True


class EmailChannel:
    def send(self, *, recipient: Recipient, message: Message, delivery_id: str) -> None:
        owner = message.owner
        with translation.override(owner.language):
            context = {"recipient": recipient, "message": message, "owner": owner}
            # One line whatever is stored: a title saved before line breaks were refused (or an
            # owner's name with one) must not stop the mail, and cannot write headers of its own.
            subject = one_line(
                message.title or _("A message from %(name)s") % {"name": owner.get_full_name() or owner.username}
            )
            text = render_to_string("messaging/email/delivery.txt", context)
            html = render_to_string("messaging/email/delivery.html", context)
        # The same Message-ID on every attempt: a mail system that got it twice can tell.
        headers = {"Message-ID": f"<{delivery_id}@{DNS_NAME}>"}
        mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient.contact], headers=headers)
        mail.attach_alternative(html, "text/html")
        try:
            mail.send()
        except Exception as exc:  # SMTP errors come in many classes: _smtp_kind sorts them
            raise ChannelError(f"e-mail: {exc.__class__.__name__}: {exc}", kind=_smtp_kind(exc)) from exc


class WebhookChannel:
    """POST a JSON body signed with the recipient's own secret (``messaging.webhook_signing``)."""

    def send(self, *, recipient: Recipient, message: Message, delivery_id: str) -> None:
        payload = {
            "event": "message.delivered",
            "message_id": message.pk,
            "recipient": {"name": recipient.name},
            "from": message.owner.get_full_name() or message.owner.username,
            "title": message.title,
            "content": message.content,
        }
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        if not recipient.webhook_secret:
            # Every webhook recipient gets one when it is written (WebhookSecretField): a row
            # without one was written around the model; staff see this and the alarm.
            raise ChannelError("webhook: the recipient has no signing secret")
        headers = webhook_signing.signed_headers(
            secret=recipient.webhook_secret, webhook_id=delivery_id, at=timezone.now(), body=body
        )
        try:
            response = public_post(
                recipient.contact, data=body, headers=headers, timeout=settings.MESSAGING_WEBHOOK_TIMEOUT
            )
        except UnsafeURL as exc:
            raise ChannelError(f"webhook: {exc}") from exc
        except requests.RequestException as exc:
            if _request_may_have_arrived(exc):
                raise ChannelMaybeSent(f"webhook: no answer in time ({exc.__class__.__name__})") from exc
            raise ChannelError(f"webhook: {exc.__class__.__name__}") from exc
        if not 200 <= response.status_code < 300:
            kind = FailureKind.PERMANENT if response.status_code in WEBHOOK_GONE else FailureKind.TRANSIENT
            raise ChannelError(f"webhook: HTTP {response.status_code}", kind=kind)


def _request_may_have_arrived(exc: requests.RequestException) -> bool:
    """Whether the request had left when ``exc`` happened, so the receiver may have acted on it.

    A connect timeout and a connection that never opened (refused, DNS, TLS: requests wraps
    those in urllib3's ``MaxRetryError``) sent nothing. A read timeout, a connection dropped while
    we waited for the answer, or an answer cut off midway came after the request was written.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ReadTimeout | requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(exc, requests.ConnectionError):
        return not (exc.args and isinstance(exc.args[0], MaxRetryError))
    return False


class HttpSmsGateway:
    """A generic HTTP SMS gateway: POST {"to", "text"} with a bearer token.

    Set ``MESSAGING_SMS_GATEWAY=messaging.channels.HttpSmsGateway`` and
    ``MESSAGING_SMS_GATEWAY_URL`` / ``_TOKEN``; any class with ``send(to, text)`` works.
    """

    def __init__(self, *, url: str = "", token: str = "") -> None:
        self.url = url
        self.token = token

    def send(self, to: str, text: str) -> None:
        try:
            response = requests.post(
                self.url,
                json={"to": to, "text": text},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=settings.MESSAGING_WEBHOOK_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise ChannelError(f"sms: {exc.__class__.__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise ChannelError(f"sms: HTTP {response.status_code}")


class SmsChannel:
    def send(self, *, recipient: Recipient, message: Message, delivery_id: str) -> None:
        # A text message has no place for ``delivery_id``; gateways take (to, text) only.
        if not sms_available():
            raise ChannelError("sms: no SMS gateway is configured")
        gateway = import_string(settings.MESSAGING_SMS_GATEWAY)(**settings.MESSAGING_SMS_GATEWAY_OPTIONS)
        text = (message.title + "\n" if message.title else "") + message.content
        gateway.send(recipient.contact, text)


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
