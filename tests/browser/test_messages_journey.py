"""End to end in headless Chromium, messages as their owner and as staff use them: write a
message for two people, change it, read its schedule and history, answer a warning, reset
everything, revoke it with the key in English and in Simplified Chinese; then the back
office: no message text in lists, the reset / revoke actions, a failed delivery retried."""

from __future__ import annotations

import pytest
import responses
from django.core import mail
from django.utils import timezone

from accounts.models import User
from messaging.models import Delivery, Message
from tests.browser.conftest import BROWSER, PASSWORD, choose_language, flash_text, log_in
from tests.conftest import create_user, give_totp
from tests.jobs import messaging_minute

pytestmark = BROWSER


def _errors(page) -> list[str]:
    return [text.strip() for text in page.locator("ul.errorlist li").all_inner_texts() if text.strip()]


def _recipient_rows(page) -> list[str]:
    """Each recipient's row as text, without its "Preview what ... receives" link (checked apart)."""
    rows = page.locator("#recipients tbody tr")
    previews = page.locator("#recipients tbody tr a[href*='/preview/']")
    assert previews.count() == rows.count(), "every recipient has a preview link"
    texts = [" ".join(text.split()) for text in rows.all_inner_texts()]
    links = [" ".join(text.split()) for text in previews.all_inner_texts()]
    return [text.replace(link + " ", "", 1) for text, link in zip(texts, links, strict=True)]


def _move_on(message: Message) -> None:
    """The next step is due now (the clock moves on the row, not in the browser)."""
    Message.objects.filter(pk=message.pk).update(next_warning_date=timezone.now())
    messaging_minute()


@pytest.mark.django_db(transaction=True)
def test_the_owner_writes_changes_answers_and_revokes_a_message(live_server, page):
    una = create_user(username="una", email="una@example.com", password=PASSWORD)  # verified: she is warned
    base = live_server.url
    log_in(page, base, "una", "/messages/")
    assert "No messages yet." in page.inner_text("#message-list")

    # Write: the form has the first recipient's row and one spare; Bo goes in the spare.
    page.click("text=Write a message")
    page.fill("#id_title", "For the twins")
    page.fill("#id_content", "The deeds are in the grey folder.")
    page.fill("#id_initial_delay_months", "2")
    assert "Save to get another empty row." in page.inner_text("#message-form")
    assert page.locator("#message-form tbody tr").count() == 2
    page.fill("#id_recipients-0-name", "Ada")
    page.fill("#id_recipients-0-contact", "ada@example.com")
    page.fill("#id_recipients-1-name", "Bo")
    page.fill("#id_recipients-1-contact", "bo@example.com")
    page.click("#message-form button[type=submit]")
    page.wait_for_selector("#revocation-key-secret")
    assert _errors(page) == []
    key = page.inner_text("#revocation-key-secret").strip()
    assert len(key) > 30
    assert page.inner_text("#revocation-page-url").strip() == f"{base}/messages/revoke/"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.click("button[data-copy]")
    assert page.evaluate("navigator.clipboard.readText()") == key
    message = Message.objects.get(owner=una)

    page.click("text=See the message and its schedule")
    page.wait_for_url(f"{base}/messages/{message.pk}/")
    assert key not in page.content(), "the key is shown once"
    assert _recipient_rows(page) == [
        "Ada e-mail ada@example.com Not asked Ask to confirm —",
        "Bo e-mail bo@example.com Not asked Ask to confirm —",
    ]

    # Edit again: new text, Ada removed, Cy added in the spare row.
    page.click("a.button:has-text('Edit')")
    page.wait_for_url(f"{base}/messages/{message.pk}/edit/")
    assert page.input_value("#id_content") == "The deeds are in the grey folder."
    page.fill("#id_content", "The deeds are in the green folder.")
    page.check("#id_recipients-0-DELETE")
    page.check("#id_recipients-1-DELETE")
    page.click("#message-form button[type=submit]")
    page.wait_for_load_state()
    assert _errors(page) == ["Name at least one recipient."]
    assert page.input_value("#id_content") == "The deeds are in the green folder.", "nothing typed is lost"
    page.uncheck("#id_recipients-1-DELETE")
    page.fill("#id_recipients-2-name", "Cy")
    page.fill("#id_recipients-2-contact", "cy@example.com")
    page.click("#message-form button[type=submit]")
    page.wait_for_url(f"{base}/messages/{message.pk}/")
    assert _errors(page) == []
    assert _recipient_rows(page) == [
        "Bo e-mail bo@example.com Not asked Ask to confirm —",
        "Cy e-mail cy@example.com Not asked Ask to confirm —",
    ]
    assert "The deeds are in the green folder." in page.inner_text("main")

    # The schedule: five warnings then delivery; the history starts with "created".
    steps = page.locator("#schedule tbody tr td:first-child").all_inner_texts()
    assert steps == ["Warning 1", "Warning 2", "Warning 3", "Warning 4", "Final warning", "Delivery to every recipient"]
    assert "delivery comes 129 days after the cycle starts" in page.inner_text("main")
    assert page.locator("#timeline tbody tr").all_inner_texts()[0].split("\t")[1].strip() == "created"
    assert page.locator("a.button:has-text('Continue')").count() == 0, "nothing to continue before a warning"

    # The first warning comes; the owner answers Continue from the detail page.
    _move_on(message)
    assert len(mail.outbox) == 1 and "warning 1 of 5" in mail.outbox[0].subject
    page.reload()
    assert "warning 1/5" in page.inner_text("h1")
    page.click("a.button:has-text('Continue')")
    page.wait_for_url(f"{base}/messages/{message.pk}/continue/")
    page.click("form button[type=submit]:has-text('Continue')")
    page.wait_for_url(f"{base}/messages/{message.pk}/")
    assert "Noted. The warning schedule goes on." in flash_text(page)
    assert "warning 1/5" in page.inner_text("h1")
    events = [row.split("\t")[1].strip() for row in page.locator("#timeline tbody tr").all_inner_texts()]
    assert events == ["created", "first warning", "continued"]

    # "I'm still here (reset all)" from the list page.
    page.click("text=Messages")
    page.wait_for_url(f"{base}/messages/")
    assert "1/5" in page.inner_text("#message-list")
    page.click("text=I'm still here (reset all)")
    page.wait_for_url(f"{base}/messages/reset-all/")
    assert "Reset the cycle of your 1 message that is still waiting" in page.inner_text("main")
    page.click("button:has-text('Reset them all')")
    page.wait_for_url(f"{base}/messages/")
    assert "1 message starts its cycle again" in flash_text(page)
    assert "0/5" in page.inner_text("#message-list")

    # Revoke it on the public page, logged out: a wrong key first.
    page.click("text=Log out")
    page.goto(f"{base}/messages/revoke/")
    page.fill("#id_key", "not-the-key")
    page.click("#revoke-form button[type=submit]")
    page.wait_for_load_state()
    assert "No message that can still be revoked has this key." in page.inner_text("#revoke-form")
    message.refresh_from_db()
    assert message.state == "active"
    page.fill("#id_key", key)
    page.click("#revoke-form button[type=submit]")
    page.wait_for_selector("#revoked")
    assert "This message will never be delivered." in page.inner_text("#revoked")
    message.refresh_from_db()
    assert message.state == "revoked"

    # The same key again: the page says the message is already revoked, not "no such key".
    page.goto(f"{base}/messages/revoke/")
    page.fill("#id_key", key)
    page.click("#revoke-form button[type=submit]")
    page.wait_for_load_state()
    assert "will never be delivered" in page.inner_text("main")

    # The owner sees a revoked message that will never be delivered, and can no longer change it.
    log_in(page, base, "una", f"/messages/{message.pk}/")
    assert "revoked" in page.inner_text("h1")
    assert "will never be delivered" in page.inner_text("main")
    assert page.locator("a.button:has-text('Edit')").count() == 0
    assert page.locator("a.button:has-text('Revoke')").count() == 0

    # In Simplified Chinese: the key pages speak Chinese.
    choose_language(page, "zh-hans")
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")
    page.goto(f"{base}/messages/revoke/")
    assert page.inner_text("h1") == "撤销留言"
    assert "Revoke" not in page.inner_text("main")
    page.fill("#id_key", "still-not-the-key")
    page.click("#revoke-form button[type=submit]")
    page.wait_for_load_state()
    errors = " ".join(_errors(page))
    assert errors and not any(c.isascii() and c.isalpha() for c in errors), errors
    page.fill("#id_key", key)
    page.click("#revoke-form button[type=submit]")
    page.wait_for_selector("#revoked")
    assert page.inner_text("#revoked") == "这条留言此前已被撤销，将永远不会发送。"
    page.goto(f"{base}/messages/{message.pk}/")
    headings = " ".join(page.locator("main h1, main h2, main th").all_inner_texts())
    events = " ".join(page.locator("#timeline tbody td:nth-child(2)").all_inner_texts())
    ladder_end = page.inner_text("#ladder-end")
    for text in (headings, events, ladder_end):
        assert not any(c.isascii() and c.isalpha() for c in text.replace("For the twins", "")), text
    page.goto(f"{base}/messages/")
    assert "Write a message" not in page.inner_text("main")
    assert "I'm still here" not in page.inner_text("main")


def _admin_action(page, pk: int, action: str) -> str:
    page.check(f"input[name=_selected_action][value='{pk}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_load_state()
    if page.locator("input[name=confirmed]").count():  # an irreversible action asks first
        page.click("#content form input[type=submit]")
        page.wait_for_load_state()
    return page.inner_text("ul.messagelist") if page.locator("ul.messagelist").count() else ""


def _admin_rows(page) -> list[str]:
    return page.locator("#result_list tbody tr").all_inner_texts()


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_staff_work_messages_in_the_back_office(live_server, page, settings):
    # The webhook below answers 410 Gone: refused for good on its first attempt.
    responses.post("https://hooks.example.com/gone", status=410)
    from messaging import services

    owner = create_user(username="vera", email="vera@example.com", password=PASSWORD)  # verified: her ladder moves
    sam = User.objects.create_superuser(username="sam", email="sam@example.com", password=PASSWORD)
    sam_app = give_totp(sam)  # the back office needs a second factor
    waiting, _key = services.message_create(
        owner=owner,
        title="Letter to Rae",
        content="The private words nobody at Cradle reads.",
        initial_delay_months=1,
        recipients=[{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}],
    )
    failing, _key = services.message_create(
        owner=owner,
        title="Hook note",
        content="Sent to a webhook that is gone.",
        initial_delay_months=1,
        recipients=[{"name": "Hook", "contact": "https://hooks.example.com/gone", "contact_type": "webhook"}],
    )
    for _step in range(6):  # five warnings, then delivery, refused for good on its first attempt
        _move_on(failing)
    [delivery] = Delivery.objects.filter(message=failing)
    assert delivery.state == "failed"
    stuck, _key = services.message_create(
        owner=owner,
        content="Its warning e-mail cannot go out.",
        initial_delay_months=1,
        recipients=[{"name": "Lu", "contact": "lu@example.com", "contact_type": "email"}],
    )
    Message.objects.filter(pk=stuck.pk).update(
        warning_level=1, warning_email_due_at=timezone.now(), warning_email_attempts=3, warning_email_error="SMTP down"
    )

    base = live_server.url
    log_in(page, base, "sam", "/admin/messaging/message/", totp_device=sam_app)
    body = page.inner_text("body")
    assert len(_admin_rows(page)) == 3
    for private in ("Letter to Rae", "private words", "Hook note", "webhook that is gone"):
        assert private not in body, private

    # The filter for warning e-mails that keep failing shows exactly that message.
    page.click("#changelist-filter a:has-text('failing (the warning schedule waits)')")
    page.wait_for_load_state()
    rows = _admin_rows(page)
    assert len(rows) == 1 and rows[0].split("\t")[1].strip() == str(stuck.pk), rows
    page.goto(f"{base}/admin/messaging/message/")

    # Reset, then revoke, the waiting message.
    Message.objects.filter(pk=waiting.pk).update(warning_level=2)
    assert "1 message(s) reset." in _admin_action(page, waiting.pk, "reset_messages")
    waiting.refresh_from_db()
    assert (waiting.state, waiting.warning_level) == ("active", 0)
    assert "1 message(s) revoked." in _admin_action(page, waiting.pk, "revoke_messages")
    waiting.refresh_from_db()
    assert waiting.state == "revoked"
    revoked_row = next(row for row in _admin_rows(page) if row.split("\t")[1].strip() == str(waiting.pk))
    assert "revoked" in revoked_row
    warned = _admin_action(page, waiting.pk, "revoke_messages")
    assert "1 message(s) were not in a state that allows this." in warned

    # The failed delivery: visible on the message's page, retried from the list.
    page.goto(f"{base}/admin/messaging/message/{failing.pk}/change/")
    page_text = page.inner_text("body")
    assert "failed" in page_text and "Sent to a webhook" not in page_text
    assert "https://hooks.example.com/gone" in page_text
    assert page.locator("input[name$='-contact']").count() == 0, "recipients are read-only here"
    page.goto(f"{base}/admin/messaging/message/")
    assert "1 delivery queued again." in _admin_action(page, failing.pk, "retry_deliveries")
    delivery.refresh_from_db()
    assert delivery.state == "pending"

    # From the deliveries list too, once it has failed again.
    messaging_minute()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 2)
    page.goto(f"{base}/admin/messaging/delivery/?needs_staff=refused")
    assert len(_admin_rows(page)) == 1
    assert "1 delivery queued again." in _admin_action(page, delivery.pk, "retry")
    delivery.refresh_from_db()
    assert delivery.state == "pending"
