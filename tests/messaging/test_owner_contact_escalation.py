"""Escalation across the owner's contacts, against real far ends: an SMTP server (aiosmtpd), the
Telegram Bot API and an SMS gateway (local HTTP servers with the real request and answer shapes).

The ladder is the seed's (D = 30 days for a 1-month message, then +30, +30, +7, +1, +1 days).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail as django_mail
from django.test import Client
from django.urls import reverse

from messaging import owner_contacts
from messaging.models import Message, OwnerContact, StatusLog, WarningSend
from tests.clock import NOW
from tests.jobs import messaging_minute
from tests.messaging.contact_doubles import telegram_contact, text_of

pytestmark = pytest.mark.django_db
CHECKIN = re.compile(r"https?://\S+/messages/check-in/[^\s/]+/")
CODE = re.compile(r"\b(\d{6})\b")
D = timedelta(days=30)


@pytest.fixture(autouse=True)
def seed(seed_ladder):
    return seed_ladder


def _email_contact(owner, smtp, address: str) -> OwnerContact:
    contact, _link = owner_contacts.contact_add(owner=owner, kind="email", address=address)
    code = CODE.search(text_of(smtp.to(address)[-1])).group(1)
    return owner_contacts.contact_verify(contact=contact, code=code)


def _at(clock, when) -> None:
    clock.move_to(when, tick=False)
    messaging_minute()


def _levels(message) -> list[str]:
    return list(message.status_logs.order_by("id").values_list("status", flat=True))


def test_it_warns_the_second_email_when_the_account_address_answers_550_and_the_ladder_goes_on_from_then(
    owner, make_message, smtp
):
    smtp.refuse.add(owner.email)
    with time_machine.travel(NOW, tick=False) as clock:
        second = _email_contact(owner, smtp, "alice.backup@example.org")
        message = make_message(owner)
        _at(clock, NOW + D)
        warned = [m for m in smtp.to("alice.backup@example.org") if "of 5" in m["Subject"]]
        assert len(warned) == 1
        assert "warning 1 of 5" in warned[-1]["Subject"]
        assert CHECKIN.search(text_of(warned[-1])), "the warning carries the no-login check-in link"
        message.refresh_from_db()
        assert message.warning_level == 1 and message.warning_email_due_at is None
        # Timed from when the second contact accepted it (the send time), the interval in full.
        assert message.next_warning_date == NOW + D + timedelta(days=30)
        account = WarningSend.objects.get(message=message, contact_key="account")
        assert account.state == WarningSend.State.REFUSED and account.error_kind == "permanent"
        assert WarningSend.objects.get(message=message, contact=second).state == WarningSend.State.ACCEPTED
        # The owner is told, on the contact that works, that the account address refused it.
        notices = [m for m in smtp.to("alice.backup@example.org") if "no longer receives" in m["Subject"]]
        assert len(notices) == 1
        _at(clock, NOW + D + timedelta(days=30) - timedelta(minutes=1))
        assert _levels(message) == ["WARNING_1"]
        _at(clock, NOW + D + timedelta(days=30))
        assert _levels(message) == ["WARNING_1", "WARNING_2"]
        assert (
            "warning 2 of 5"
            in [m for m in smtp.to("alice.backup@example.org") if "of 5" in m["Subject"]][-1]["Subject"]
        )
        assert not smtp.to(owner.email)


def test_a_deferring_relay_is_transient_the_ladder_waits_and_nothing_counts_as_unreachable(
    owner, make_message, smtp, settings
):
    smtp.defer.add(owner.email)  # 451 for the account address: try later
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner)
        for hours in range(0, 24 * 30, 12):
            _at(clock, NOW + D + timedelta(hours=hours))
        message.refresh_from_db()
        assert message.warning_email_attempts > 0 and message.warning_email_error
        assert message.warning_level == 1 and message.warning_email_due_at is not None, "the ladder waits for it"
        assert not StatusLog.objects.filter(status=StatusLog.Status.OWNER_UNREACHABLE).exists()
        assert Client().get("/healthz?strict=1").status_code == 503
        smtp.defer.clear()
        _at(clock, NOW + D + timedelta(days=30, hours=1))
        message.refresh_from_db()
        assert message.warning_email_due_at is None and "warning 1 of 5" in smtp.to(owner.email)[-1]["Subject"]
        assert message.next_warning_date == NOW + D + timedelta(days=60, hours=1)


def test_telegram_is_verified_by_the_deep_link_and_never_warned_before(owner, make_message, smtp, bot):
    with time_machine.travel(NOW, tick=False) as clock:
        contact, link = owner_contacts.contact_add(owner=owner, kind="telegram", first_level=1)
        assert link.startswith("https://t.me/cradle_test_bot?start=")
        message = make_message(owner)
        _at(clock, NOW + D)
        assert not bot.sent, "an unverified contact is never warned"
        assert "warning 1 of 5" in smtp.to(owner.email)[-1]["Subject"]
        # Another token, or the right one on the wrong secret path, verifies nothing.
        bad = {"message": {"chat": {"id": 1}, "text": "/start not-the-token"}}
        assert (
            Client()
            .post(reverse("telegram_webhook", args=["hook-secret-123"]), bad, content_type="application/json")
            .status_code
            == 200
        )
        assert (
            Client().post(reverse("telegram_webhook", args=["wrong"]), bad, content_type="application/json").status_code
            == 404
        )
        contact.refresh_from_db()
        assert contact.verified_at is None
        # The first link was good for a day; the owner asks for a new one.
        link = owner_contacts.telegram_token_new(contact)
        token = link.rsplit("start=", 1)[1]
        update = {"message": {"chat": {"id": 4242, "type": "private"}, "text": f"/start {token}"}}
        Client().post(reverse("telegram_webhook", args=["hook-secret-123"]), update, content_type="application/json")
        contact.refresh_from_db()
        assert contact.verified_at is not None and contact.address == "4242"
        assert bot.sent[-1]["chat_id"] == "4242"  # the bot says the chat is now verified
        _at(clock, NOW + D + timedelta(days=30))
        warning = bot.sent[-1]
        assert warning["chat_id"] == "4242" and "warning 2 of 5" in warning["text"]
        assert CHECKIN.search(warning["text"]), "the Telegram warning carries the check-in link"
        assert message.warning_sends.filter(level=2, state=WarningSend.State.ACCEPTED).count() == 2


def test_a_blocked_bot_marks_the_telegram_contact_failing_and_tells_the_owner_by_email(owner, make_message, smtp, bot):
    with time_machine.travel(NOW, tick=False) as clock:
        contact = telegram_contact(owner, bot, "777")
        message = make_message(owner, level=2)
        bot.blocked.add("777")
        Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
        _at(clock, NOW)
        contact.refresh_from_db()
        assert contact.failing_since == NOW and "blocked" in contact.failing_error
        assert "warning 3 of 5" in smtp.to(owner.email)[0]["Subject"]  # accepted by the e-mail: sent
        assert any("no longer receives" in m["Subject"] for m in smtp.to(owner.email))
        message.refresh_from_db()
        assert message.warning_level == 3 and message.warning_email_due_at is None


def test_sms_is_verified_by_a_code_and_gets_warnings_3_to_5_with_the_link(owner, make_message, smtp, bot):
    with time_machine.travel(NOW, tick=False) as clock:
        contact, _link = owner_contacts.contact_add(owner=owner, kind="sms", address="+14155550123")
        sent = bot.sms[-1]
        assert sent["to"] == "+14155550123" and bot.sms_auth[-1] == "Bearer sms-token"
        with pytest.raises(Exception, match="wrong"):
            owner_contacts.contact_verify(contact=contact, code="000000" if "000000" not in sent["text"] else "111111")
        owner_contacts.contact_verify(contact=contact, code=CODE.search(sent["text"]).group(1))
        message = make_message(owner)
        _at(clock, NOW + D)
        assert len(bot.sms) == 1, "warning 1 goes to the account e-mail only"
        Message.objects.filter(pk=message.pk).update(warning_level=2, next_warning_date=NOW + D)
        _at(clock, NOW + D + timedelta(minutes=1))
        assert "warning 3 of 5" in bot.sms[-1]["text"] and CHECKIN.search(bot.sms[-1]["text"])


def test_an_invalid_number_is_permanent(owner, make_message, smtp, bot):
    with time_machine.travel(NOW, tick=False) as clock:
        contact, _link = owner_contacts.contact_add(owner=owner, kind="sms", address="+14155550100")
        owner_contacts.contact_verify(contact=contact, code=CODE.search(bot.sms[-1]["text"]).group(1))
        bot.invalid.add("+14155550100")
        make_message(owner, level=2)
        Message.objects.update(next_warning_date=NOW)
        _at(clock, NOW)
        contact.refresh_from_db()
        assert contact.failing_since is not None
        send = WarningSend.objects.get(contact=contact)
        assert send.state == WarningSend.State.REFUSED and send.error_kind == "permanent"


def test_code_guesses_are_rate_limited(owner, smtp, settings):
    settings.RATE_LIMIT_CONTACT_VERIFY = (3, 900)
    contact, _link = owner_contacts.contact_add(owner=owner, kind="email", address="b@example.org")
    for _ in range(3):
        with pytest.raises(Exception, match="wrong"):
            owner_contacts.contact_verify(contact=contact, code="999999x")
    code = CODE.search(text_of(smtp.to("b@example.org")[-1])).group(1)
    with pytest.raises(owner_contacts.TooManyAttempts):
        owner_contacts.contact_verify(contact=contact, code=code)
    contact.refresh_from_db()
    assert contact.verified_at is None


def test_a_test_warning_reaches_every_verified_contact_marked_as_a_test_and_changes_nothing(
    owner, make_message, smtp, bot
):
    with time_machine.travel(NOW, tick=False):
        telegram_contact(owner, bot, "555")
        owner_contacts.contact_add(owner=owner, kind="email", address="unverified@example.org")
        message = make_message(owner, level=1)
        before = Message.objects.filter(pk=message.pk).values().get()
        client = Client()
        client.force_login(owner)
        response = client.post(reverse("messaging:owner_contacts_test"))
        assert response.status_code == 302
    assert "TEST" in smtp.to(owner.email)[-1]["Subject"]
    assert "TEST" in bot.sent[-1]["text"] and bot.sent[-1]["chat_id"] == "555"
    assert len(smtp.to("unverified@example.org")) == 1, "only its code: never a warning before it is verified"
    assert Message.objects.filter(pk=message.pk).values().get() == before
    assert not message.status_logs.exists() and not WarningSend.objects.exists()


def test_the_api_test_warning_answers_how_many_took_it(owner, smtp):
    from tests.conftest import make_api_client

    api = make_api_client(owner, ["messages:read", "messages:write"])
    response = api.post("/api/v1/owner-contacts/test-warning/")
    assert response.status_code == 200 and response.json() == {"contacts": 1, "accepted": 1}
    assert django_mail.outbox == []  # it went through the real SMTP server
    assert "TEST" in smtp.to(owner.email)[-1]["Subject"]
