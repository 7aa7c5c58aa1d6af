"""Preview what Bob receives: the exact delivery e-mail / webhook body / text, sending nothing, the owner's only."""

from __future__ import annotations

import json
import re

import pytest
import responses
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse

from messaging.delivery_notice import SAMPLE_LINK
from messaging.models import Delivery, Message, StatusLog
from tests.clock import NOW
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db
HOOK = "https://hooks.example.com/cradle"
BOB = {"name": "Bob", "contact": "bob@example.com", "contact_type": "email"}
WEBHOOK = {"name": "Hook", "contact": HOOK, "contact_type": "webhook"}
LINK = re.compile(r"https?://[^/\s\"<]+/d/[A-Za-z0-9_-]+/")  # a recipient's own link


def _deliver(message) -> None:
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)
    messaging_minute()


def _sample_for_own_link(text: str) -> str:
    """What delivery sent, with the recipient's own link where the preview shows the sample."""
    return LINK.sub(settings.SITE_URL + SAMPLE_LINK, text)


@responses.activate  # no request registered: any HTTP call would fail the test
def test_the_email_preview_is_what_delivery_sends_and_sends_nothing(client, owner, make_message):
    with time_machine.travel(NOW, tick=False):
        message = make_message(
            owner, recipients=[BOB], title="For Bob", content="the plan: <b>bold</b>", include_text_in_notice=True
        )
        bob = message.recipients.get()
        client.force_login(owner)
        page = client.get(reverse("messaging:recipient_preview", args=[message.pk, bob.pk]))
        assert page.status_code == 200 and page["Cache-Control"] == "no-store"
        shown = page.context["preview"]
        assert mail.outbox == [] and not Delivery.objects.exists() and not StatusLog.objects.exists()
        assert "the plan: &lt;b&gt;bold&lt;/b&gt;" in page.content.decode()
        # The HTML version as its source, not rendered into the page (its inline styles would
        # break the page's CSP), and marked as the owner's language.
        source = page.content.decode().split('id="preview-html"', 1)[1].split("</pre>", 1)[0]
        assert source.startswith(' lang="en">&lt;') and "<" not in source.split(">", 1)[1]
        _deliver(message)
    [sent] = [m for m in mail.outbox if m.to == ["bob@example.com"]]
    body, html = _sample_for_own_link(sent.body), _sample_for_own_link(sent.alternatives[0][0])
    assert (sent.subject, body, html) == (shown["subject"], shown["text"], shown["html"])
    assert "For Bob" in shown["subject"] and LINK.search(sent.body) and settings.SITE_URL + SAMPLE_LINK in shown["text"]


def test_the_preview_of_a_notice_without_the_text_shows_no_text(client, owner, make_message):
    message = make_message(owner, recipients=[BOB], content="the plan")
    client.force_login(owner)
    shown = client.get(reverse("messaging:recipient_preview", args=[message.pk, message.recipients.get().pk]))
    preview = shown.context["preview"]
    assert "the plan" not in preview["text"] + preview["html"] and SAMPLE_LINK in preview["text"]


@responses.activate
def test_the_webhook_preview_is_the_exact_body_delivery_posts(client, owner, make_message):
    with time_machine.travel(NOW, tick=False):
        message = make_message(owner, recipients=[WEBHOOK], content="the plan")
        hook = message.recipients.get()
        client.force_login(owner)
        shown = client.get(reverse("messaging:recipient_preview", args=[message.pk, hook.pk])).context["preview"]
        assert len(responses.calls) == 0
        responses.post(HOOK, status=200)
        _deliver(message)
    posted = json.loads(responses.calls[0].request.body)
    assert LINK.fullmatch(posted["url"])
    sample = json.loads(shown["body"])
    assert {**posted, "url": sample["url"]} == sample and sample["url"] == settings.SITE_URL + SAMPLE_LINK
    assert "content" not in sample  # the text goes on the recipient's page only (not included in the notice)


def test_an_outsider_cannot_preview_anothers_message(client, owner, other_user, make_message):
    message = make_message(owner, recipients=[BOB])
    bob = message.recipients.get()
    client.force_login(other_user)
    assert client.get(reverse("messaging:recipient_preview", args=[message.pk, bob.pk])).status_code == 404
    mine = make_message(other_user, recipients=[BOB])
    # Another message's recipient under one's own message is not found either.
    assert client.get(reverse("messaging:recipient_preview", args=[mine.pk, bob.pk])).status_code == 404


def test_the_message_page_links_each_recipients_preview(client, owner, make_message):
    message = make_message(owner, recipients=[BOB, WEBHOOK])
    client.force_login(owner)
    page = client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    for recipient in message.recipients.all():
        assert reverse("messaging:recipient_preview", args=[message.pk, recipient.pk]) in page
