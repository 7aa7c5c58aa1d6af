"""End to end in headless Chromium, the recipients' side: the owner attaches a file on the message's
page, the ladder runs out, the recipient opens the link in their notice logged out, reads the text
and downloads the file byte for byte; once the link has expired the page says so and "Send me a
new link" sends one to the recipient's own address, which opens the page again."""

from __future__ import annotations

import os
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from messaging import services
from messaging.models import DeliveryLink, Message, StatusLog
from tests.browser.conftest import BROWSER, PASSWORD, log_in
from tests.conftest import create_user
from tests.jobs import messaging_minute
from tests.messaging.recipient_side import LINK

pytestmark = BROWSER

TEXT = "The spare key is with the neighbour at number 12."


def _link_path(address: str) -> str:
    [notice] = [m for m in mail.outbox if m.to == [address]][-1:]
    return urlsplit(LINK.search(notice.body).group(0)).path


@pytest.mark.django_db(transaction=True)
def test_the_recipient_reads_the_delivered_message_and_downloads_its_file(live_server, page, tmp_path):
    owner = create_user(username="erin", email="erin@example.com", password=PASSWORD)
    message, _key = services.message_create(
        owner=owner,
        title="For Sam",
        content=TEXT,
        initial_delay_months=1,
        recipients=[{"name": "Sam", "contact": "sam@example.com", "contact_type": "email"}],
    )
    data = b"%PDF-1.4\n" + os.urandom(200_000)  # more than three chunks, and a sniffable type
    upload = tmp_path / "letter-for-sam.pdf"
    upload.write_bytes(data)
    base = live_server.url
    log_in(page, base, "erin", f"/messages/{message.pk}/")
    page.set_input_files("#id_file", str(upload))
    page.click("#attach-form button[type=submit]")
    page.wait_for_selector("#attachments >> text=letter-for-sam.pdf")
    page.click("text=Log out")

    # The ladder runs out (moved on the row, not in the browser): the notice, without the text.
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=timezone.now())
    messaging_minute()
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    [notice] = [m for m in mail.outbox if m.to == ["sam@example.com"]]
    assert TEXT not in notice.body and "1 attached file" in notice.body
    path = _link_path("sam@example.com")

    page.goto(base + path)
    assert page.inner_text("#message-text").strip() == TEXT
    assert page.inner_text("#message-title").strip() == "For Sam"
    with page.expect_download() as download_info:
        page.click("#files >> text=letter-for-sam.pdf")
    download = download_info.value
    assert download.suggested_filename == "letter-for-sam.pdf"
    with open(download.path(), "rb") as got:
        assert got.read() == data, "the file came back byte for byte"
    assert StatusLog.objects.filter(message=message, status=StatusLog.Status.LINK_OPENED).count() == 1

    # Months later the link has expired: the page says so and offers a new one, sent to Sam only.
    past = timezone.now() - timedelta(minutes=30)
    DeliveryLink.objects.filter(delivery__message=message).update(expires_at=past, created_at=past)
    page.goto(base + path)
    page.wait_for_selector("#link-closed")
    assert "has expired" in page.inner_text("#link-closed") and TEXT not in page.content()
    page.click("#link-closed button[type=submit]")
    page.wait_for_selector("#link-renewed")
    new_path = _link_path("sam@example.com")
    assert new_path != path and len([m for m in mail.outbox if m.to == ["sam@example.com"]]) == 2
    page.goto(base + new_path)
    assert page.inner_text("#message-text").strip() == TEXT
