"""End to end in headless Chromium, a sealed message: the owner seals it on the real form with a
passphrase, attaches a file on the message's page (sealed in the browser), opens and changes it
again on the edit page; the ladder runs out; the recipient opens their link logged out, a wrong
passphrase says so plainly, the right one shows the text and the file downloads byte for byte
under its real name. No request the browser sent carries the passphrase, the text or the file in
clear. The pages of the journey fit 390 px and 1280 px and pass axe-core under the CSP."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from messaging.models import Attachment, Message
from tests.browser.conftest import BROWSER, PASSWORD, flash_text, log_in
from tests.browser.test_every_page import _check, _watch_csp
from tests.conftest import create_user
from tests.jobs import messaging_minute
from tests.messaging.recipient_side import LINK
from tests.messaging.sealing import envelope_open

pytestmark = BROWSER

PASSPHRASE = "marmalade on the night train"
TEXT = "The spare key is with the neighbour at number 12."
MORE = TEXT + "\nAnd the letters are in the attic."
HINT = "what we ate in Vienna"
WRONG = "That passphrase does not open this message."


def _layout_problems(page, url: str, console: list) -> list[str]:
    found = []
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        found += [f"{width}px {problem}" for problem in _check(page, url, console)]
    return found


@pytest.mark.django_db(transaction=True)
def test_a_sealed_message_and_its_file_open_only_in_the_recipients_browser(live_server, page, tmp_path):
    create_user(username="erin", email="erin@example.com", password=PASSWORD)
    base = live_server.url
    console = _watch_csp(page, base)
    sent: list[bytes] = []
    page.on("request", lambda request: sent.append(request.post_data_buffer or b""))
    problems: list[str] = []

    # The owner seals the text on the form.
    log_in(page, base, "erin", "/messages/new/")
    page.fill("#id_title", "For Sam")
    page.fill("#id_content", TEXT)
    page.fill("#id_initial_delay_months", "1")
    page.fill("#id_recipients-0-name", "Sam")
    page.fill("#id_recipients-0-contact", "sam@example.com")
    page.check("#id_sealed")
    page.fill("#seal-pass", PASSPHRASE)
    page.fill("#seal-pass2", PASSPHRASE + "!")
    page.fill("#id_seal_hint", HINT)
    problems += _layout_problems(page, base + "/messages/new/ (sealing)", console)
    page.click("#message-form button[type=submit]")
    assert page.inner_text("#seal-status") == "The two passphrases differ."
    page.fill("#seal-pass2", PASSPHRASE)
    page.click("#message-form button[type=submit]")
    page.wait_for_selector("#revocation-key")
    message = Message.objects.get()
    assert message.sealed and message.seal_hint == HINT
    assert envelope_open(PASSPHRASE, message.content) == TEXT, "the script's envelope opens with the formats' spec"

    # A file, sealed in the browser before it is sent.
    data = b"%PDF-1.4\n" + os.urandom(2_500_000)  # three frames of 1 MiB
    upload = tmp_path / "letter-for-sam.pdf"
    upload.write_bytes(data)
    page.goto(f"{base}/messages/{message.pk}/")
    problems += _layout_problems(page, f"{base}/messages/{message.pk}/", console)
    page.set_input_files("#id_file", str(upload))
    page.fill("#attach-pass", "not it")
    page.click("#attach-form button[type=submit]")
    expect(page.locator("#attach-status")).to_have_text(WRONG)
    assert not Attachment.objects.exists(), "a mistyped passphrase never seals a file the recipients cannot open"
    page.fill("#attach-pass", PASSPHRASE)
    page.click("#attach-form button[type=submit]")
    page.wait_for_selector("#attachments >> text=attachment-1.sealed")
    assert "The file is attached." in flash_text(page)

    # Editing: the passphrase opens the text in the page, and it is sealed again on saving.
    page.goto(f"{base}/messages/{message.pk}/edit/")
    assert page.input_value("#id_content") == ""
    page.fill("#seal-pass", "not it")
    page.click("#seal-open")
    expect(page.locator("#seal-status")).to_have_text(WRONG)
    page.fill("#seal-pass", PASSPHRASE)
    page.click("#seal-open")
    expect(page.locator("#id_content")).to_have_value(TEXT)
    page.fill("#id_content", MORE)
    page.click("#message-form button[type=submit]")
    page.wait_for_url(f"{base}/messages/{message.pk}/")
    assert envelope_open(PASSPHRASE, Message.objects.get().content) == MORE
    page.click("text=Log out")

    # The ladder runs out (moved on the row); the notice has the hint, never the text.
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=timezone.now())
    messaging_minute()
    assert Message.objects.get().state == Message.State.DELIVERED
    [notice] = [m for m in mail.outbox if m.to == ["sam@example.com"]]
    assert HINT in notice.body and "Vienna" in notice.body and "spare key" not in notice.body
    path = urlsplit(LINK.search(notice.body).group(0)).path

    # The recipient, logged out: the hint, a wrong passphrase, then the right one.
    page.goto(base + path)
    assert HINT in page.inner_text("#seal-hint") and not page.is_visible("#message-text")
    problems += _layout_problems(page, base + path, console)
    page.fill("#seal-pass", "marmalade")
    page.click("#seal-open-form button[type=submit]")
    expect(page.locator("#seal-status")).to_have_text(WRONG)
    page.fill("#seal-pass", PASSPHRASE)
    page.click("#seal-open-form button[type=submit]")
    page.wait_for_selector("#message-text", state="visible")
    assert page.inner_text("#message-text").strip() == MORE
    page.wait_for_selector("#files >> text=letter-for-sam.pdf")
    problems += _layout_problems(page, base + path + " (opened)", console)
    with page.expect_download() as download_info:
        page.click("#files >> text=letter-for-sam.pdf")
    download = download_info.value
    assert download.suggested_filename == "letter-for-sam.pdf"
    with open(download.path(), "rb") as got:
        assert got.read() == data, "the file came back byte for byte"

    posted = b"".join(sent)
    assert posted, "the journey's forms were watched"
    for secret in (PASSPHRASE.encode(), TEXT.encode(), b"letters are in the attic", b"letter-for-sam", data[9:64]):
        assert secret not in posted, f"{secret[:20]!r} left the browser in clear"
    assert problems == [], "\n".join(problems)
