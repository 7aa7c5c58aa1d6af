"""What a recipient receives when a message is delivered: a short notice with the link to their page.

``delivery_notice_build(message=..., recipient=..., link_url=..., expires_at=...)`` is the one
builder of the notice: the e-mail channel sends what it returns, the webhook and SMS channels
take their words from it, and the owner's "what will Bob receive" preview calls it (without a
link: a sample stands in). The notice says who asked Cradle to pass the message on, gives the
link (unique to this recipient, ``messaging.delivery_links``) and until when it works; the text
itself is in it only if the owner chose "include the text in the e-mail"
(``Message.include_text_in_notice``), and never for a sealed message (``messaging.sealed``): its
notice, webhook body and text message carry the hint instead. Built in the owner's language,
as the delivery was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cradle_site.text import one_line
from messaging.models import Message, Recipient

SAMPLE_LINK = "/d/…"  # what a preview shows where the recipient's own link will be


@dataclass(frozen=True)
class DeliveryNotice:
    subject: str
    text: str
    html: str
    link_url: str
    include_text: bool


def delivery_subject(message: Message) -> str:
    """Who it is from and what it is, so the recipient does not take it for spam: the
    owner's name, Cradle, and the title the owner gave it (if any). In the owner's language,
    like the rest of the e-mail (the caller holds the translation)."""
    owner = message.owner
    name = owner.get_full_name() or owner.username
    if message.title:
        return _("A message from %(name)s, left with Cradle: “%(title)s”") % {"name": name, "title": message.title}
    return _("A message from %(name)s, left with Cradle") % {"name": name}


def sender_name(message: Message) -> str:
    return message.owner.get_full_name() or message.owner.username


def text_included(message: Message) -> bool:
    """Whether the text goes in the notice: the owner's choice, and never a sealed message's."""
    return message.include_text_in_notice and not message.sealed


def _link_or_sample(link_url: str | None, expires_at: datetime | None) -> tuple[str, datetime]:
    """The recipient's own link, or (a preview) the sample one and an expiry a link's lifetime from now."""
    link_url = link_url or settings.SITE_URL + SAMPLE_LINK
    if expires_at is None:
        expires_at = timezone.now() + timedelta(days=settings.MESSAGING_DELIVERY_LINK_DAYS)
    return link_url, expires_at


def delivery_notice_build(
    *, message: Message, recipient: Recipient, link_url: str | None = None, expires_at: datetime | None = None
) -> DeliveryNotice:
    """The notice for ``recipient``: subject (one line), plain text and HTML, in the owner's language.

    ``link_url`` None (a preview): a sample link and an expiry ``MESSAGING_DELIVERY_LINK_DAYS``
    from now stand in for the recipient's own.
    """
    link_url, expires_at = _link_or_sample(link_url, expires_at)
    owner = message.owner
    with translation.override(owner.language):
        context = {
            "recipient": recipient,
            "message": message,
            "sender": sender_name(message),
            "link_url": link_url,
            "expires_at": expires_at,
            "include_text": text_included(message),
            "attachment_count": message.attachments.count(),
        }
        # One line whatever is stored: a title saved before line breaks were refused (or an
        # owner's name with one) must not stop the mail, and cannot write headers of its own.
        subject = one_line(delivery_subject(message))
        text = render_to_string("messaging/email/delivery.txt", context)
        html = render_to_string("messaging/email/delivery.html", context)
    return DeliveryNotice(subject=subject, text=text, html=html, link_url=link_url, include_text=text_included(message))


def delivery_notice_payload(
    *, message: Message, recipient: Recipient, link_url: str | None = None, expires_at: datetime | None = None
) -> dict:
    """The webhook's JSON body: the same link; ``content`` only when the owner included the text."""
    link_url, expires_at = _link_or_sample(link_url, expires_at)
    payload = {
        "event": "message.delivered",
        "message_id": message.pk,
        "recipient": {"name": recipient.name},
        "from": sender_name(message),
        "title": message.title,
        "url": link_url,
        "url_expires_at": expires_at.isoformat(),
    }
    if message.sealed:
        payload["sealed"] = True
        payload["seal_hint"] = message.seal_hint
    if text_included(message):
        payload["content"] = message.content
    return payload


def delivery_notice_sms(*, message: Message, link_url: str | None = None) -> str:
    """The text message: who asked, the link, and the text when the owner included it."""
    link_url, _expires_at = _link_or_sample(link_url, None)
    with translation.override(message.owner.language):
        lead = _("%(name)s asked Cradle to give you a message if they stopped answering; open it here: %(url)s") % {
            "name": sender_name(message),
            "url": link_url,
        }
        if message.sealed:
            lead += "\n" + _("Sealed with a passphrase. Hint: %(hint)s") % {"hint": message.seal_hint}
    if not text_included(message):
        return lead
    return lead + "\n\n" + (message.title + "\n" if message.title else "") + message.content
