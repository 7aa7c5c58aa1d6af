"""Trusted contacts with a veto window (messaging.trusted), run through the real jobs.

Time is moved with time_machine from tests/clock.NOW; every minute of the cluster is
``tests.jobs.messaging_minute`` (the sweep, the grants job, the senders), so a grant is made
by the same job function the cluster runs and delivered by the same delivery path.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from cradle_site.errors import StateError
from messaging import services, trusted
from messaging.models import AccessRequest, Delivery, Message, StatusLog, TrustedAccess, TrustedContact
from tests.clock import NOW
from tests.jobs import messaging_minute
from tests.messaging.contact_doubles import telegram_contact, text_of

pytestmark = pytest.mark.django_db
PAGE = re.compile(r"https?://\S+/t/([A-Za-z0-9_-]+)/")
CODE = re.compile(r"\b(\d{6})\b")
WAIT = timedelta(days=7)


@pytest.fixture(autouse=True)
def seed(seed_ladder):
    return seed_ladder


def _contact(owner, outbox_text, *, email="tess@example.net", wait_days=7) -> tuple[TrustedContact, str]:
    """Named by the owner, and confirmed with the link its invitation carried."""
    contact = trusted.trusted_contact_add(owner=owner, name="Tess", email=email, wait_days=wait_days)
    secret = PAGE.search(outbox_text(email)).group(1)
    assert trusted.contact_find(secret) == contact
    trusted.trusted_contact_verify(contact=contact)
    contact.refresh_from_db()
    return contact, secret


@pytest.fixture(autouse=True)
def committed(django_capture_on_commit_callbacks):
    """``committed(call)``: run it and the callbacks it left for after the commit (the owner's notices)."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


@pytest.fixture
def mail_text(mailoutbox):
    return lambda address: [m for m in mailoutbox if address in m.to][-1].body


def _on(message, mode=TrustedAccess.Mode.RECIPIENTS):
    trusted.trusted_access_set(message=message, mode=mode)


def _statuses(message) -> list[str]:
    return list(message.status_logs.order_by("id").values_list("status", flat=True))


def _to(mailoutbox, address) -> list:
    return [m for m in mailoutbox if address in m.to]


def test_it_delivers_exactly_at_the_end_of_the_waiting_period_and_tells_every_verified_contact(
    owner, make_message, smtp, bot, committed
):
    from messaging import owner_contacts

    with time_machine.travel(NOW, tick=False) as clock:
        second, _link = owner_contacts.contact_add(owner=owner, kind="email", address="alice.work@example.org")
        code = CODE.search(text_of(smtp.to("alice.work@example.org")[-1])).group(1)
        owner_contacts.contact_verify(contact=second, code=code)
        telegram_contact(owner, bot, "4242")
        message = make_message(owner)
        _on(message)
        contact, _secret = _contact(owner, lambda a: text_of(smtp.to(a)[-1]))
        request = committed(lambda: trusted.access_request(contact=contact))
        assert request.grant_at == NOW + WAIT
        # At once, on every verified contact: the account e-mail, the second e-mail, Telegram.
        for address in (owner.email, "alice.work@example.org"):
            told = [m for m in smtp.to(address) if "asked for your messages" in m["Subject"]]
            assert len(told) == 1, address
            assert "Tess" in text_of(told[0]) and "the secret plan" not in text_of(told[0])
        assert [s for s in bot.sent if "asked" in s["text"]][0]["chat_id"] in (4242, "4242")

        clock.move_to(NOW + WAIT - timedelta(seconds=1), tick=False)
        messaging_minute()
        request.refresh_from_db()
        assert request.state == AccessRequest.State.PENDING and not smtp.to("rae@example.com")

        clock.move_to(NOW + WAIT, tick=False)
        messaging_minute()
        request.refresh_from_db()
        message.refresh_from_db()
        assert request.state == AccessRequest.State.GRANTED and request.decided_at == NOW + WAIT
        assert request.messages_granted == 1
        assert message.state == Message.State.DELIVERED
        assert len(smtp.to("rae@example.com")) == 1
        assert not smtp.to(contact.email)[1:], "recipients mode: the contact gets only the invitation"
        assert _statuses(message) == ["TRUSTED_REQUESTED", "TRUSTED_GRANTED", "DELIVERED"]
        messaging_minute()
        clock.move_to(NOW + WAIT + timedelta(days=1), tick=False)
        messaging_minute()
        assert len(smtp.to("rae@example.com")) == 1


def test_a_refused_request_is_never_granted(owner, make_message, mailoutbox, mail_text):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner)
        _on(message)
        contact, _secret = _contact(owner, mail_text)
        request = trusted.access_request(contact=contact)
        clock.move_to(NOW + timedelta(days=3), tick=False)
        trusted.access_refuse(request=request)
        for days in (7, 8, 29):
            clock.move_to(NOW + timedelta(days=days), tick=False)
            messaging_minute()
        request.refresh_from_db()
        message.refresh_from_db()
        assert request.state == AccessRequest.State.REFUSED
        assert message.state == Message.State.ACTIVE and not Delivery.objects.exists()
        assert not _to(mailoutbox, "rae@example.com")
        assert _statuses(message) == ["TRUSTED_REQUESTED", "TRUSTED_REFUSED"]
        with pytest.raises(StateError):
            trusted.access_refuse(request=request)
        # Asked again after a refusal: a new request, with a new waiting period.
        again = trusted.access_request(contact=contact)
        assert again.grant_at == NOW + timedelta(days=36)


def test_a_refusal_after_the_grant_changes_nothing(owner, make_message, mail_text):
    with time_machine.travel(NOW, tick=False) as clock:
        _on(make_message(owner))
        contact, _secret = _contact(owner, mail_text)
        request = trusted.access_request(contact=contact)
        clock.move_to(NOW + WAIT, tick=False)
        assert trusted.access_grants_due() == 1
        with pytest.raises(StateError):
            trusted.access_refuse(request=request)
        assert trusted.access_grants_due() == 0
        request.refresh_from_db()
        assert request.state == AccessRequest.State.GRANTED


def test_the_grant_never_comes_before_requested_at_plus_wait(owner, make_message, mail_text):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner)
        _on(message)
        contact, _secret = _contact(owner, mail_text, wait_days=1)
        request = trusted.access_request(contact=contact)
        # The owner's later change of the wait does not move the request; asking twice is refused.
        TrustedContact.objects.filter(pk=contact.pk).update(wait_days=30)
        with pytest.raises(StateError):
            trusted.access_request(contact=contact)
        clock.move_to(NOW + timedelta(hours=23, minutes=59), tick=False)
        assert trusted.access_grant(request_id=request.pk) is False
        assert trusted.access_grant(request_id=request.pk, now=NOW + timedelta(hours=23)) is False
        clock.move_to(NOW + timedelta(days=1), tick=False)
        assert trusted.access_grant(request_id=request.pk) is True
        assert trusted.access_grant(request_id=request.pk) is False, "once"


def test_trusted_contact_only_delivers_to_the_contact_and_no_recipient(owner, make_message, mailoutbox, mail_text):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner)
        other = make_message(owner, recipients=[{"name": "Ola", "contact": "ola@example.com"}])
        _on(message, TrustedAccess.Mode.CONTACT)
        contact, _secret = _contact(owner, mail_text)
        trusted.access_request(contact=contact)
        clock.move_to(NOW + WAIT, tick=False)
        messaging_minute()
        message.refresh_from_db()
        other.refresh_from_db()
        assert message.state == Message.State.DELIVERED
        assert other.state == Message.State.ACTIVE, "trusted access is off for it"
        assert not _to(mailoutbox, "rae@example.com")
        notices = _to(mailoutbox, contact.email)
        assert len(notices) == 2  # the invitation, then the delivery notice with the page link
        assert "/d/" in notices[-1].body
        assert Delivery.objects.get(message=message).recipient.name == "Tess (trusted contact)"


def test_a_grant_racing_the_ladders_own_delivery_delivers_each_recipient_once(
    owner, make_message, mailoutbox, mail_text
):
    """The final warning's interval ends at the same minute as the waiting period."""
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(
            owner,
            recipients=[{"name": "Rae", "contact": "rae@example.com"}, {"name": "Sam", "contact": "sam@example.com"}],
        )
        _on(message)
        contact, _secret = _contact(owner, mail_text)
        trusted.access_request(contact=contact)
        Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW + WAIT)
        clock.move_to(NOW + WAIT, tick=False)
        messaging_minute()  # the sweep first, then the grants job: it finds the delivery under way
        messaging_minute()
        message.refresh_from_db()
        assert message.state == Message.State.DELIVERED
        assert len(_to(mailoutbox, "rae@example.com")) == 1 and len(_to(mailoutbox, "sam@example.com")) == 1
        granted = StatusLog.objects.get(message=message, status=StatusLog.Status.TRUSTED_GRANTED)
        assert granted.data["started"] is False
        assert list(Delivery.objects.filter(message=message).values_list("state", flat=True)) == ["sent", "sent"]


def test_the_grant_first_then_the_sweep_queues_nothing_more(owner, make_message, mailoutbox, mail_text):
    from messaging.sweep import sweep_due

    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner)
        _on(message)
        contact, _secret = _contact(owner, mail_text)
        request = trusted.access_request(contact=contact)
        Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW + WAIT)
        clock.move_to(NOW + WAIT, tick=False)
        assert trusted.access_grant(request_id=request.pk)
        assert sweep_due().delivering == 0
        messaging_minute()
        assert len(_to(mailoutbox, "rae@example.com")) == 1
        assert Delivery.objects.filter(message=message).count() == 1


def test_a_revoked_or_delivered_message_cannot_be_asked_for(owner, make_message, mailoutbox, mail_text):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner)
        _on(message)
        contact, _secret = _contact(owner, mail_text)
        services.message_revoke(message=message)
        with pytest.raises(StateError):
            trusted.access_request(contact=contact)
        assert not AccessRequest.objects.exists()

        # Revoked while a request waits: the grant delivers nothing.
        later = make_message(owner)
        _on(later)
        request = trusted.access_request(contact=contact)
        services.message_revoke(message=later)
        clock.move_to(NOW + WAIT, tick=False)
        messaging_minute()
        request.refresh_from_db()
        assert request.state == AccessRequest.State.GRANTED and request.messages_granted == 0
        assert not Delivery.objects.exists() and not _to(mailoutbox, "rae@example.com")


def test_an_unverified_contact_cannot_ask_or_pause(owner, make_message):
    _on(make_message(owner))
    contact = trusted.trusted_contact_add(owner=owner, name="Tess", email="tess@example.net", wait_days=3)
    with pytest.raises(StateError):
        trusted.access_request(contact=contact)
    with pytest.raises(StateError):
        trusted.trusted_pause(contact=contact)


def test_a_pause_in_force_holds_the_grant_until_it_ends(owner, make_message, mailoutbox, mail_text):
    from messaging import pauses

    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner)
        _on(message)
        contact, _secret = _contact(owner, mail_text)
        request = trusted.access_request(contact=contact)
        pauses.pause_start(owner=owner, until=NOW + timedelta(days=10))
        clock.move_to(NOW + WAIT, tick=False)
        messaging_minute()
        request.refresh_from_db()
        assert request.state == AccessRequest.State.PENDING
        clock.move_to(NOW + timedelta(days=10), tick=False)
        messaging_minute()
        request.refresh_from_db()
        assert request.state == AccessRequest.State.GRANTED
        assert len(_to(mailoutbox, "rae@example.com")) == 1


def test_a_trusted_contact_pauses_the_warnings_once_and_the_owner_is_told(
    owner, make_message, mailoutbox, mail_text, settings, committed
):
    with time_machine.travel(NOW, tick=False):
        message = make_message(owner)
        contact, _secret = _contact(owner, mail_text)
        before = len(_to(mailoutbox, owner.email))
        pause = committed(lambda: trusted.trusted_pause(contact=contact))
        assert pause.until == NOW + timedelta(days=settings.MESSAGING_TRUSTED_PAUSE_DAYS)
        message.refresh_from_db()
        assert message.paused_until == pause.until
        told = _to(mailoutbox, owner.email)[before:]
        assert len(told) == 1 and "paused" in told[0].subject
        log = StatusLog.objects.get(message=message, status=StatusLog.Status.PAUSED)
        assert log.data["actor"]["kind"] == "trusted_contact"
        with pytest.raises(StateError):
            trusted.trusted_pause(contact=contact)


def test_a_contact_is_checked_and_its_address_stored_encrypted(owner, other_user):
    from django.core.exceptions import ValidationError
    from django.db import connection

    with pytest.raises(ValidationError) as exc:
        trusted.trusted_contact_add(owner=owner, name="", email="nope", wait_days=31)
    assert set(exc.value.message_dict) == {"name", "email", "wait_days"}
    with pytest.raises(ValidationError) as exc:
        trusted.trusted_contact_add(owner=owner, name="Me", email=owner.email, wait_days=0)
    assert set(exc.value.message_dict) == {"email", "wait_days"}
    trusted.trusted_contact_add(owner=owner, name="Tess", email="Tess@Example.net", wait_days=30)
    with pytest.raises(ValidationError) as exc:
        trusted.trusted_contact_add(owner=owner, name="Tess again", email="tess@example.net ", wait_days=3)
    assert set(exc.value.message_dict) == {"email"}
    trusted.trusted_contact_add(owner=other_user, name="Tess", email="tess@example.net", wait_days=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM messaging_trustedcontact")
        raw = repr(cursor.fetchall())
    assert "example.net" not in raw.lower()


def test_a_token_opens_only_its_own_contact(owner, other_user, mail_text):
    mine, secret = _contact(owner, mail_text)
    theirs, other_secret = _contact(other_user, mail_text, email="tom@example.net")
    assert trusted.contact_find(secret) == mine and trusted.contact_find(other_secret) == theirs
    assert trusted.contact_find(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert trusted.contact_find("x" * 500) is None and trusted.contact_find("") is None
    assert len(secret) >= 43  # 256 bits, URL-safe base64
    assert secret not in TrustedContact.objects.values_list("token_hash", flat=True)


def test_removing_a_contact_refuses_their_waiting_request_in_the_history(owner, make_message, mail_text):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner)
        _on(message)
        contact, secret = _contact(owner, mail_text)
        trusted.access_request(contact=contact)
        trusted.trusted_contact_remove(contact=contact)
        assert trusted.contact_find(secret) is None and not AccessRequest.objects.exists()
        clock.move_to(NOW + WAIT, tick=False)
        messaging_minute()
        message.refresh_from_db()
        assert message.state == Message.State.ACTIVE
        assert _statuses(message) == ["TRUSTED_REQUESTED", "TRUSTED_REFUSED"]
