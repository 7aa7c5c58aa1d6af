""" "Preview what Bob receives": the delivery exactly as it would go to one recipient, sent to no one.

The e-mail, webhook body or text message comes from the delivery channel's own builder
(``messaging.channels``), so what the owner reads is what delivery sends; nothing is sent, queued
or logged. The delivery id is a placeholder: the real one is made when the delivery starts, and
so is the recipient's link to their delivery page (a sample stands in: ``messaging.delivery_notice``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.views.decorators.http import require_GET

from cradle_site.querysets import get_owned_or_404
from messaging.channels import EmailChannel, SmsChannel, WebhookChannel
from messaging.models import Message, Recipient

PREVIEW_DELIVERY_ID = "00000000-0000-0000-0000-000000000000"


def preview(recipient: Recipient, message: Message) -> dict:
    """What the page shows for ``recipient``: its channel and the exact parts of the delivery."""
    kind = recipient.contact_type
    if kind == Recipient.ContactType.EMAIL:
        mail = EmailChannel().build(recipient=recipient, message=message, delivery_id=PREVIEW_DELIVERY_ID)
        html = next((body for body, mime in mail.alternatives if mime == "text/html"), "")
        return {
            "kind": kind,
            "subject": mail.subject,
            "from": mail.from_email,
            "to": ", ".join(mail.to),
            "text": mail.body,
            "html": html,
        }
    if kind == Recipient.ContactType.WEBHOOK:
        body = WebhookChannel.body(recipient=recipient, message=message)
        return {"kind": kind, "to": recipient.contact, "body": body.decode("utf-8")}
    return {"kind": kind, "to": recipient.contact, "text": SmsChannel.text(message)}


@login_required
@require_GET
def recipient_preview(request: HttpRequest, pk: int, recipient_pk: int) -> HttpResponse:
    message = get_owned_or_404(Message.objects.select_related("owner", "body"), request.user, pk=pk)
    recipient = get_object_or_404(message.recipients.all(), pk=recipient_pk)
    # The delivery is written in the owner's language whatever the page's: marked as such (lang),
    # so a reader and a screen reader know, and the page's own words stay translated.
    lang = translation.to_language(message.owner.language or settings.LANGUAGE_CODE)
    context = {"message": message, "recipient": recipient, "preview": preview(recipient, message), "lang": lang}
    response = render(request, "messaging/recipient_preview.html", context)
    response["Cache-Control"] = "no-store"
    return response
