"""Delivery channels: e-mail, webhook and SMS behind one small interface.

A channel's ``send(recipient=..., message=...)`` returns on success and raises
``ChannelError`` with a readable reason on failure; ``messaging.delivery`` retries.
Contacts are validated here too (``validate_contact``), so forms, the API and services
refuse the same things with the same words.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from enum import StrEnum

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import URLValidator, validate_email
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from cradle_site.outbound import UnsafeURL, check_public_url, public_post
from messaging.models import Message, Recipient

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SIGNATURE_HEADER = "X-Cradle-Signature"


class ChannelError(Exception):
    """The channel could not hand the message over (refused, unreachable, timed out)."""


class FailureKind(StrEnum):
    """Why a delivery attempt failed, as the history records it."""

    CHANNEL = "channel"  # a ChannelError: the far end or the way to it failed
    CRASH = "crash"  # anything else: a bug on our side (logged with its traceback)


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
        try:
            URLValidator(schemes=["https"])(contact)
        except ValidationError:
            raise ValidationError(_("Enter an https:// URL for a webhook."), code="invalid_url") from None
        try:
            check_public_url(contact)
        except UnsafeURL as exc:
            raise ValidationError(str(exc), code="private_address") from None
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
    def send(self, *, recipient: Recipient, message: Message) -> None:
        owner = message.owner
        with translation.override(owner.language):
            context = {"recipient": recipient, "message": message, "owner": owner}
            subject = message.title or _("A message from %(name)s") % {"name": owner.get_full_name() or owner.username}
            text = render_to_string("messaging/email/delivery.txt", context)
            html = render_to_string("messaging/email/delivery.html", context)
        mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient.contact])
        mail.attach_alternative(html, "text/html")
        try:
            mail.send()
        except Exception as exc:  # SMTP errors come in many classes; all mean "retry later"
            raise ChannelError(f"e-mail: {exc.__class__.__name__}: {exc}") from exc


def webhook_signature(body: bytes, secret: str | None = None) -> str:
    key = (secret or settings.MESSAGING_WEBHOOK_SECRET).encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """POST a JSON body signed with HMAC-SHA256 (header ``X-Cradle-Signature: sha256=<hex>``)."""

    def send(self, *, recipient: Recipient, message: Message) -> None:
        payload = {
            "event": "message.delivered",
            "message_id": message.pk,
            "recipient": {"name": recipient.name},
            "from": message.owner.get_full_name() or message.owner.username,
            "title": message.title,
            "content": message.content,
        }
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: webhook_signature(body)}
        try:
            response = public_post(
                recipient.contact, data=body, headers=headers, timeout=settings.MESSAGING_WEBHOOK_TIMEOUT
            )
        except UnsafeURL as exc:
            raise ChannelError(f"webhook: {exc}") from exc
        except requests.RequestException as exc:
            raise ChannelError(f"webhook: {exc.__class__.__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise ChannelError(f"webhook: HTTP {response.status_code}")


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
    def send(self, *, recipient: Recipient, message: Message) -> None:
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
