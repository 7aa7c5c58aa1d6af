"""The recipient's delivery page: a notice with a link of their own, which expires, renews and is recorded."""

from __future__ import annotations

import secrets
import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging import attachments, services
from messaging.delivery_links import link_token_hash
from messaging.models import Delivery, DeliveryLink, Message, StatusLog
from tests.clock import NOW
from tests.jobs import messaging_minute
from tests.messaging.recipient_side import deliver_now, token_in, token_sent_to

pytestmark = pytest.mark.django_db

TWO = [
    {"name": "Rae", "contact": "rae@example.com", "contact_type": "email"},
    {"name": "Sam", "contact": "sam@example.com", "contact_type": "email"},
]


def _page(client, token: str, at=NOW):
    with time_machine.travel(at, tick=False):
        return client.get(reverse("delivery_page", args=[token]))


def test_each_recipient_gets_a_notice_with_a_link_of_their_own_and_not_the_text(client, owner, make_message):
    owner.first_name = "Alice"
    owner.save()
    message = make_message(owner, recipients=TWO, content="the secret plan")
    deliver_now(message)
    rae, sam = token_sent_to("rae@example.com"), token_sent_to("sam@example.com")
    assert rae != sam and len(rae) >= 43, "256 random bits each (43 URL-safe characters), never shared"
    notice = [m for m in mail.outbox if m.to == ["rae@example.com"]][0]
    assert "Alice asked Cradle to give you a message if they stopped answering" in notice.body
    assert "the secret plan" not in notice.body and "the secret plan" not in notice.alternatives[0][0]
    page = _page(client, rae)
    assert page.status_code == 200 and "the secret plan" in page.content.decode()
    assert "Dear Rae" in page.content.decode() and "Sam" not in page.content.decode()
    assert page["Cache-Control"] == "no-store" and page["X-Robots-Tag"] == "noindex"


def test_the_table_keeps_only_the_hash_of_a_sent_token(owner, make_message):
    message = make_message(owner)
    deliver_now(message)
    token = token_sent_to("rae@example.com")
    [row] = DeliveryLink.objects.filter(delivery__message=message).values()
    assert row["token_hash"] == link_token_hash(token) != token
    assert row["pending_token"] == "", "the token is forgotten once the notice went out"
    assert token not in str(row)


def test_the_owner_can_choose_to_include_the_text_in_the_email(owner, make_message):
    message = make_message(owner, content="the secret plan", include_text_in_notice=True)
    deliver_now(message)
    [notice] = mail.outbox
    assert "the secret plan" in notice.body and token_in(notice.body)


class FlakyRelay(locmem.EmailBackend):
    failures = 0

    def send_messages(self, messages):
        if FlakyRelay.failures:
            FlakyRelay.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def test_a_retry_carries_the_same_link_and_the_same_delivery_id(owner, make_message, settings):
    """Never twice: a relay that may have kept the first copy drops the second by its id; its link must work."""
    settings.EMAIL_BACKEND = "tests.messaging.test_delivery_page.FlakyRelay"
    settings.MESSAGING_RETRY_BASE_SECONDS = 60
    FlakyRelay.failures = 1
    message = make_message(owner)
    deliver_now(message)
    link = DeliveryLink.objects.get(delivery__message=message)
    assert mail.outbox == [] and link.pending_token, "the failed attempt keeps its link for the retry"
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        messaging_minute()
    [notice] = mail.outbox
    delivery = Delivery.objects.get(message=message)
    assert link_token_hash(token_in(notice.body)) == link.token_hash
    assert DeliveryLink.objects.filter(delivery=delivery).count() == 1
    assert notice.extra_headers["Message-ID"].startswith(f"<{delivery.uid}@")
    assert delivery.state == "sent" and delivery.attempts == 2


def test_a_made_up_token_or_junk_is_a_404(client, owner, make_message):
    deliver_now(make_message(owner))
    for token in (secrets.token_urlsafe(32), "x" * 500, "short"):
        assert _page(client, token).status_code == 404


def test_a_link_opens_only_its_own_recipients_delivery(client, owner, other_user, make_message):
    """Alice's and Bob's messages, delivered: each token opens its own page, never the other message."""
    mine = make_message(owner, content="the text of Alice")
    theirs = make_message(other_user, content="the text of Bob", recipients=[TWO[1]])
    deliver_now(mine)
    deliver_now(theirs)
    page = _page(client, token_sent_to("sam@example.com")).content.decode()
    assert "the text of Bob" in page and "the text of Alice" not in page


def test_the_link_expires_and_the_page_says_how_to_ask_for_a_new_one(client, owner, make_message, settings):
    settings.MESSAGING_DELIVERY_LINK_DAYS = 5
    deliver_now(make_message(owner))
    token = token_sent_to("rae@example.com")
    assert _page(client, token, at=NOW + timedelta(days=5) - timedelta(seconds=1)).status_code == 200
    expired = _page(client, token, at=NOW + timedelta(days=5))
    text = expired.content.decode()
    assert expired.status_code == 410 and "the secret plan" not in text
    assert "has expired" in text and "Send me a new link" in text
    assert reverse("delivery_renew", args=[token]) in text
    assert 'type="email"' not in text and 'name="email"' not in text, "no address is ever typed in"


def test_send_me_a_new_link_goes_to_the_recipients_own_address_only(client, owner, make_message, settings):
    settings.MESSAGING_DELIVERY_LINK_DAYS = 5
    message = make_message(owner)
    deliver_now(message)
    old = token_sent_to("rae@example.com")
    later = NOW + timedelta(days=6)
    with time_machine.travel(later, tick=False):
        answer = client.post(
            reverse("delivery_renew", args=[old]), {"email": "mallory@example.com", "contact": "mallory@example.com"}
        )
    assert answer.status_code == 200 and "on its way" in answer.content.decode()
    assert [m.to for m in mail.outbox] == [["rae@example.com"], ["rae@example.com"]]
    new = token_sent_to("rae@example.com")
    assert new != old and _page(client, new, at=later).status_code == 200
    replaced = _page(client, old, at=later)
    assert replaced.status_code == 410 and "newer link" in replaced.content.decode()
    log = StatusLog.objects.get(message=message, status=StatusLog.Status.LINK_SENT)
    assert log.data["reason"] == "renewed" and log.data["recipient"] == "Rae"
    # Pressed again at once (or by someone holding the old link): nothing more is sent.
    with time_machine.travel(later + timedelta(minutes=1), tick=False):
        again = client.post(reverse("delivery_renew", args=[old]))
    assert again.status_code == 410 and "a few minutes ago" in again.content.decode()
    assert len(mail.outbox) == 2


def test_a_link_that_still_works_is_not_renewed(client, owner, make_message):
    deliver_now(make_message(owner))
    token = token_sent_to("rae@example.com")
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        answer = client.post(reverse("delivery_renew", args=[token]))
    assert answer.status_code == 200 and "still works" in answer.content.decode() and len(mail.outbox) == 1


def test_the_first_opening_is_recorded_once_and_kept_in_the_history(client, owner, make_message):
    message = make_message(owner)
    deliver_now(message)
    token = token_sent_to("rae@example.com")
    _page(client, token, at=NOW + timedelta(days=2))
    _page(client, token, at=NOW + timedelta(days=3))
    link = DeliveryLink.objects.get(delivery__message=message)
    assert link.first_opened_at == NOW + timedelta(days=2)
    [log] = StatusLog.objects.filter(message=message, status=StatusLog.Status.LINK_OPENED)
    assert log.data == {"recipient_id": message.recipients.get().pk, "recipient": "Rae", "link_id": link.pk}
    assert log.display_text == "Rae opened their delivery page for the first time."


def test_staff_see_the_first_opening_and_resend_the_link(client, staff, owner, make_message):
    message = make_message(owner)
    deliver_now(message)
    old = token_sent_to("rae@example.com")
    _page(client, old, at=NOW + timedelta(days=1))
    client.force_login(staff)
    changelist = client.get(reverse("admin:messaging_delivery_changelist"))
    assert changelist.status_code == 200 and "first opened" in changelist.content.decode().lower()
    assert old not in changelist.content.decode()
    delivery = Delivery.objects.get(message=message)
    form = {"action": "resend_links", "_selected_action": [delivery.pk]}
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        # First the confirmation page (the old links stop working), sending nothing.
        asked = client.post(reverse("admin:messaging_delivery_changelist"), form)
        assert asked.status_code == 200 and "older links stop opening" in asked.content.decode()
        assert len(mail.outbox) == 1
        client.post(reverse("admin:messaging_delivery_changelist"), form | {"confirmed": "yes"})
    assert len(mail.outbox) == 2
    new = token_sent_to("rae@example.com")
    assert new != old and _page(client, old, at=NOW + timedelta(days=2)).status_code == 410
    log = StatusLog.objects.get(message=message, status=StatusLog.Status.LINK_SENT)
    assert log.data["reason"] == "resent" and log.data["actor"]["kind"] == "staff"
    detail = client.get(reverse("admin:messaging_delivery_change", args=[delivery.pk]))
    assert detail.status_code == 200 and old not in detail.content.decode() and new not in detail.content.decode()


def test_a_revocation_closes_the_page(client, owner, make_message, settings):
    """Delivered to one, still trying the other: the owner revokes, and the first page closes."""
    settings.MESSAGING_SMS_GATEWAY = "tests.messaging.test_delivery.RefusingGateway"
    message = make_message(
        owner, recipients=[TWO[0], {"name": "Pat", "contact": "+14155550123", "contact_type": "sms"}]
    )
    deliver_now(message)
    token = token_sent_to("rae@example.com")
    assert _page(client, token).status_code == 200
    services.message_revoke(message=Message.objects.get(pk=message.pk))
    assert _page(client, token).status_code == 404


def _page_queries(client, owner, make_message, files: int, address: str) -> int:
    message = make_message(owner, recipients=[{"name": "Rae", "contact": address, "contact_type": "email"}])
    for n in range(files):
        attachments.attachment_add(message=message, stream=_bytes(f"file {n}"), name=f"f{n}.txt")
    deliver_now(message)
    token = token_sent_to(address)
    _page(client, token)  # the first opening writes its record; the count is of any later one
    with CaptureQueriesContext(connection) as queries:
        assert _page(client, token).status_code == 200
    return len(queries)


def _bytes(text: str):
    import io

    return io.BytesIO(text.encode())


def test_the_pages_query_count_is_the_same_for_one_file_and_five(client, owner, make_message):
    one = _page_queries(client, owner, make_message, 1, "one@example.com")
    five = _page_queries(client, owner, make_message, 5, "five@example.com")
    assert one == five <= 6


@pytest.mark.django_db(transaction=True)
def test_messages_written_before_the_delivery_page_keep_their_text_in_the_email(owner, make_message):
    """Their owners were promised the text in the e-mail, and may not be there to choose again."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before = [("messaging", "0016_owner_contacts")]  # the last one before 0017_recipients_side
    executor.migrate(before)
    try:
        old_model = executor.loader.project_state(before).apps.get_model("messaging", "Message")
        old = old_model.objects.create(owner_id=owner.pk, next_warning_date=NOW, revocation_key_hash="h")
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert Message.objects.get(pk=old.pk).include_text_in_notice is True
    assert make_message(owner).include_text_in_notice is False, "new messages: the link only, unless chosen"
