"""Recipients know they are named (messaging.named): the notice, the confirm link, the owner's view.

The mail goes through Django's real SMTP backend to a local aiosmtpd server
(tests/messaging/contact_doubles.py): an address in ``smtp.refuse`` answers ``550 5.1.1``, one in
``smtp.defer`` ``451``. The send job is the one the cluster runs (``messaging.tasks``).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from cradle_site.audit_vocabulary import ActorKind, EventType
from cradle_site.errors import StateError
from messaging import named, services
from messaging.models import Message, NamedNotice, Recipient
from messaging.named_sending import named_notices_send
from messaging.tasks import send_named_notices
from ops.models import AuditEvent
from tests.clock import NOW
from tests.messaging.contact_doubles import text_of

pytestmark = pytest.mark.django_db

TEXT = "SECRET-TEXT-91c4 the key is under the blue pot"
TITLE = "SECRET-TITLE-5d02 for Rae"
RAE = "rae@example.com"
SOL = "sol@example.com"
LINK = re.compile(r"https?://[^\s\"<>]+/messages/named/([A-Za-z0-9_-]+)/")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _message(owner, *recipients, **kw) -> Message:
    message, _key = services.message_create(
        owner=owner, title=TITLE, content=TEXT, initial_delay_months=1, recipients=list(recipients), **kw
    )
    return message


def _rae(tell: bool = True) -> dict:
    return {"name": "Rae", "contact": RAE, "contact_type": "email", "tell_named": tell}


def _sol(tell: bool = False) -> dict:
    return {"name": "Sol", "contact": SOL, "contact_type": "email", "tell_named": tell}


def _token(mail) -> str:
    return LINK.search(text_of(mail)).group(1)


def _raw_rows(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - a fixed table name
        return repr(cursor.fetchall())


def test_it_tells_only_the_recipient_who_asked_and_never_what_the_message_says(owner, smtp, clock):
    owner.first_name, owner.last_name = "Alice", "Liddell"
    owner.save()
    message = _message(owner, _rae(), _sol())
    assert send_named_notices() == {"sent": 1, "skipped": 0, "failed": 0}
    assert smtp.to(SOL) == []
    [mail] = smtp.to(RAE)
    assert mail["Subject"] == "Alice Liddell named you as a recipient on Cradle"
    raw = mail.as_string()
    assert TEXT not in raw and TITLE not in raw and "blue pot" not in raw
    assert "does not contain the message" in text_of(mail)
    rae = message.recipients.get(name="Rae")
    assert rae.named_status == "asked" and rae.named_notice_sent_at == NOW
    assert Recipient.objects.get(name="Sol").named_status == "not_asked"
    assert send_named_notices()["sent"] == 0  # once: nothing is due any more
    assert len(smtp.to(RAE)) == 1


def test_the_link_is_256_bits_stored_only_as_a_hash_once_sent(owner, smtp, clock):
    _message(owner, _rae())
    send_named_notices()
    token = _token(smtp.to(RAE)[0])
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    notice = NamedNotice.objects.get()
    assert notice.pending_token == "" and notice.token_hash == named.named_token_hash(token)
    assert token not in _raw_rows("messaging_namednotice")


def test_a_get_shows_a_button_and_only_the_post_confirms_once(owner, smtp, clock):
    message = _message(owner, _rae())
    send_named_notices()
    url = reverse("messaging:named_confirm", args=[_token(smtp.to(RAE)[0])])
    recipient = Client(REMOTE_ADDR="203.0.113.7")
    page = recipient.get(url)
    assert page.status_code == 200 and b"Confirm that this address works" in page.content
    assert page["Cache-Control"] == "no-store"
    assert TEXT.encode() not in page.content and TITLE.encode() not in page.content
    assert Recipient.objects.get().named_confirmed_at is None  # a mail scanner's GET confirms nothing

    before = AuditEvent.objects.count()
    done = recipient.post(url)
    assert done.status_code == 200 and b"will see that this address works" in done.content
    assert Recipient.objects.get().named_status == "confirmed"
    [event] = AuditEvent.objects.order_by("id")[before:]
    assert event.event_type == EventType.NAMED_NOTICE_CONFIRMED and event.actor_kind == ActorKind.RECIPIENT
    assert event.user_id == owner.pk and event.extra_data == {
        "message_id": message.pk,
        "recipient_id": Recipient.objects.get().pk,
    }

    again = recipient.post(url)  # single use: a second POST changes nothing
    assert b"already confirmed" in again.content
    assert AuditEvent.objects.count() == before + 1

    owner_page = Client()
    owner_page.force_login(owner)
    detail = owner_page.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "Confirmed on" in detail


def test_an_unknown_or_overlong_token_is_a_404(client):
    assert client.get(reverse("messaging:named_confirm", args=["x" * 43])).status_code == 404
    assert client.post(reverse("messaging:named_confirm", args=["x" * 200])).status_code == 404


def test_a_550_marks_the_address_failed_and_the_owner_sees_it_does_not_work(owner, smtp, clock):
    smtp.refuse.add(RAE)
    message = _message(owner, _rae())
    assert send_named_notices() == {"sent": 0, "skipped": 0, "failed": 1}
    rae = Recipient.objects.get()
    assert rae.named_status == "failed" and rae.named_failed_at == NOW
    assert "550" in rae.named_failed_reason and "no such mailbox" not in rae.named_failed_reason  # our words only
    assert NamedNotice.objects.get().state == NamedNotice.State.FAILED
    clock.shift(timedelta(days=3))
    assert send_named_notices()["failed"] == 0  # refused for good: not retried by itself

    page = Client()
    page.force_login(owner)
    detail = page.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "This address does not work" in detail

    # The owner fixes the address: the new one is asked at once, the old failure is gone.
    services.message_update(
        message=message,
        title=TITLE,
        content=TEXT,
        initial_delay_months=1,
        recipients=[{"name": "Rae", "contact": "rae@new.example", "contact_type": "email", "tell_named": True}],
    )
    assert send_named_notices()["sent"] == 1
    assert Recipient.objects.get().named_status == "asked"
    assert len(smtp.to("rae@new.example")) == 1


def test_a_deferring_relay_is_retried_at_the_back_off_with_the_same_link(owner, smtp, clock, settings):
    smtp.defer.add(RAE)
    _message(owner, _rae())
    assert send_named_notices()["failed"] == 1
    notice = NamedNotice.objects.get()
    assert notice.state == NamedNotice.State.PENDING and notice.attempts == 1
    assert notice.next_attempt_at > NOW and Recipient.objects.get().named_status == "queued"
    token_before = notice.pending_token
    smtp.defer.clear()
    assert send_named_notices()["sent"] == 0  # not before its back-off
    clock.shift(timedelta(seconds=settings.MESSAGING_RETRY_MAX_SECONDS + 1))
    assert send_named_notices()["sent"] == 1
    assert _token(smtp.to(RAE)[0]) == token_before


def test_webhook_and_sms_recipients_cannot_ask_and_every_caller_says_which_field(owner, api_client_for, client):
    hook = {"name": "Hook", "contact": "https://hooks.example.com/x", "contact_type": "webhook", "tell_named": True}
    with pytest.raises(ValidationError) as caught:
        _message(owner, hook)
    assert "recipients[0].tell_named" in caught.value.message_dict

    api = api_client_for(owner, ["messages:read", "messages:write"])
    body = {"content": "x", "initial_delay_months": 1, "recipients": [hook]}
    response = api.post(reverse("api:messaging-message-list"), body, format="json")
    assert response.status_code == 400
    assert "Only e-mail recipients" in response.json()["error"]["fields"]["recipients[0].tell_named"][0]

    client.force_login(owner)
    form = {
        "content": "x",
        "initial_delay_months": "1",
        "recipients-TOTAL_FORMS": "1",
        "recipients-INITIAL_FORMS": "0",
        "recipients-MIN_NUM_FORMS": "1",
        "recipients-MAX_NUM_FORMS": "50",
        "recipients-0-name": "Hook",
        "recipients-0-contact_type": "webhook",
        "recipients-0-contact": "https://hooks.example.com/x",
        "recipients-0-tell_named": "on",
    }
    page = client.post(reverse("messaging:message_create"), form)
    assert page.status_code == 200 and "Only e-mail recipients can be told" in page.content.decode()
    assert not Message.objects.exists()


def test_an_edit_keeps_what_an_address_named_again_has_confirmed(owner, smtp, clock):
    message = _message(owner, _rae(), _sol())
    send_named_notices()
    Client().post(reverse("messaging:named_confirm", args=[_token(smtp.to(RAE)[0])]))
    services.message_update(
        message=message, title="new title", content=TEXT, initial_delay_months=1, recipients=[_sol(True), _rae()]
    )
    rae, sol = Recipient.objects.get(name="Rae"), Recipient.objects.get(name="Sol")
    assert rae.named_status == "confirmed" and rae.named_confirmed_at == NOW
    assert sol.named_status == "queued"
    assert send_named_notices()["sent"] == 1 and len(smtp.to(RAE)) == 1 and len(smtp.to(SOL)) == 1


def test_a_link_whose_address_was_removed_confirms_nothing(owner, smtp, clock):
    message = _message(owner, _rae(), _sol())
    send_named_notices()
    token = _token(smtp.to(RAE)[0])
    services.message_update(message=message, title=TITLE, content=TEXT, initial_delay_months=1, recipients=[_sol()])
    page = Client().post(reverse("messaging:named_confirm", args=[token]))
    assert b"no longer confirms anything" in page.content
    assert not Recipient.objects.filter(named_confirmed_at__isnull=False).exists()


def test_a_revoked_message_sends_nothing_more(owner, smtp, clock):
    message = _message(owner, _rae())
    services.message_revoke(message=message)
    assert named_notices_send() == {"sent": 0, "skipped": 1, "failed": 0}
    assert NamedNotice.objects.get().state == NamedNotice.State.CANCELLED and smtp.to(RAE) == []


def test_the_owner_may_send_it_again_at_most_once_an_hour(owner, smtp, clock, client, settings):
    message = _message(owner, _rae(tell=False))
    rae = Recipient.objects.get()
    client.force_login(owner)
    url = reverse("messaging:named_resend", args=[message.pk, rae.pk])
    assert client.post(url).status_code == 302
    assert Recipient.objects.get().named_status == "queued"
    event = AuditEvent.objects.order_by("-id").first()
    assert event.event_type == EventType.NAMED_NOTICE_RESENT and event.extra_data["recipient_id"] == rae.pk
    send_named_notices()
    assert len(smtp.to(RAE)) == 1

    followed = client.post(url, follow=True).content.decode()
    assert "please wait before sending another" in followed
    with pytest.raises(StateError):
        named.named_notice_resend(recipient=rae)
    clock.shift(timedelta(minutes=settings.MESSAGING_NAMED_RESEND_MINUTES + 1))
    named.named_notice_resend(recipient=rae)
    send_named_notices()
    assert len(smtp.to(RAE)) == 2
    first, second = (_token(m) for m in smtp.to(RAE))
    assert first != second


def test_the_api_shows_where_each_recipient_stands_and_sends_again(owner, smtp, clock, api_client_for):
    message = _message(owner, _rae(), _sol())
    send_named_notices()
    api = api_client_for(owner, ["messages:read", "messages:write"])
    data = api.get(reverse("api:messaging-message-detail", args=[message.pk])).json()
    states = {r["name"]: (r["tell_named"], r["named_status"]) for r in data["recipients"]}
    assert states == {"Rae": (True, "asked"), "Sol": (False, "not_asked")}
    sol = Recipient.objects.get(name="Sol")
    url = reverse("api:messaging-message-tell-named", args=[message.pk, sol.pk])
    answer = api.post(url)
    assert answer.status_code == 200 and answer.json()["named_status"] == "queued"
    again = api.post(url)
    assert again.status_code == 400 and "wait" in again.content.decode()
    missing = api.post(reverse("api:messaging-message-tell-named", args=[message.pk, 999999]))
    assert missing.status_code == 404
