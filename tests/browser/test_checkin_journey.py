"""End to end in headless Chromium, the heart of the product: write a message, get the
first warning by e-mail, follow its check-in link logged out, answer "I'm still here"
without logging in; the link then is used up, and a logged-in owner gets their full page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from messaging.models import Message, StatusLog
from tests.browser.conftest import BROWSER, PASSWORD, log_in
from tests.conftest import create_user
from tests.jobs import messaging_minute

pytestmark = BROWSER


@pytest.mark.django_db(transaction=True)
def test_write_a_message_get_warned_and_check_in_from_the_email(live_server, page):
    # Verified: Cradle warns only a verified address (an unverified one holds the warning).
    create_user(username="erin", email="erin@example.com", password=PASSWORD)
    base = live_server.url
    log_in(page, base, "erin", "/messages/new/")

    page.fill("#id_title", "For Sam")
    page.fill("#id_content", "The key is under the blue pot.")
    page.fill("#id_initial_delay_months", "1")
    page.fill("#id_recipients-0-name", "Sam")
    page.select_option("#id_recipients-0-contact_type", "email")
    page.fill("#id_recipients-0-contact", "sam@example.com")
    page.click("#message-form button[type=submit]")
    page.wait_for_load_state()
    form_errors = re.findall(r'class="errorlist"[^>]*><li>([^<]*)', page.content())
    assert not form_errors, form_errors  # the spare recipient row, left empty, is no error
    assert page.inner_text("#revocation-key-secret").strip()
    message = Message.objects.get(owner__username="erin")

    # A month later (the clock is moved on the row, not in the browser): the first warning.
    Message.objects.filter(pk=message.pk).update(next_warning_date=timezone.now())
    messaging_minute()
    [warning] = mail.outbox
    assert warning.to == ["erin@example.com"] and "warning 1 of 5" in warning.subject
    link = re.search(r"https?://\S+/messages/check-in/\S+/", warning.body).group(0)

    page.click("text=Log out")
    page.goto(base + urlsplit(link).path)  # the link as the owner would open it, logged out
    page.wait_for_selector("button[value=reset]")
    content = page.content()
    assert "For Sam" not in content and "blue pot" not in content and "sam@example.com" not in content
    message.refresh_from_db()
    assert message.warning_level == 1, "opening the link changes nothing"

    page.click("button[value=reset]")
    page.wait_for_selector("#checkin-link")
    assert "the cycle starts again" in page.content()
    message.refresh_from_db()
    assert message.warning_level == 0
    log = StatusLog.objects.get(message=message, status="WARNING_RESET", response="RESET")
    assert log.data["actor"] == {"kind": "checkin_link"}

    # The link has done its work: opened again it says so, and offers no answer.
    page.goto(base + urlsplit(link).path)
    assert "out of date" in page.content() and page.locator("button[value=reset]").count() == 0

    # Logged in, the owner sees the page they always had (the title, the way to the message).
    log_in(page, base, "erin", urlsplit(link).path)
    page.wait_for_selector("text=For Sam")
