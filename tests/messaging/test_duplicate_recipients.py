"""Each address gets the message once: a second recipient with the same address is refused
(page, API, service), and rows that are already duplicates are delivered once per address."""

from __future__ import annotations

import pytest
import responses
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from messaging import services
from messaging.contacts import contact_key
from messaging.models import Delivery, Message, Recipient, StatusLog
from tests.clock import NOW
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db
RW = ["messages:read", "messages:write"]
HOOK = "https://hooks.example.com/cradle"


def _email(name: str, contact: str) -> dict:
    return {"name": name, "contact": contact, "contact_type": "email"}


@pytest.mark.parametrize(
    ("contact_type", "first", "second"),
    [
        ("email", "rae@example.com", " Rae@EXAMPLE.com "),
        ("sms", "+14155550123", "+1 (415) 555-0123"),
        ("webhook", "https://hooks.example.com/x", "HTTPS://Hooks.Example.COM:443/x/"),
        ("webhook", "https://hooks.example.com", "https://hooks.example.com/"),
        ("webhook", "https://hooks.example.com/x?a=1", "https://HOOKS.example.com/x/?a=1#top"),
    ],
)
def test_the_same_address_spelled_differently_has_one_key(contact_type, first, second):
    assert contact_key(contact_type, first) == contact_key(contact_type, second)


@pytest.mark.parametrize(
    ("contact_type", "first", "second"),
    [
        ("email", "rae@example.com", "rae@example.org"),
        ("sms", "+14155550123", "+14155550124"),
        ("webhook", "https://hooks.example.com/x", "https://hooks.example.com/X"),
        ("webhook", "https://hooks.example.com/x", "https://hooks.example.com:8443/x"),
        ("webhook", "https://hooks.example.com/x?a=1", "https://hooks.example.com/x?a=2"),
    ],
)
def test_different_addresses_have_different_keys(contact_type, first, second):
    assert contact_key(contact_type, first) != contact_key(contact_type, second)


def test_the_service_refuses_the_same_address_twice_naming_the_row(owner):
    recipients = [
        _email("Rae", "rae@example.com"),
        _email("Sol", "sol@example.com"),
        _email("Rae2", "RAE@example.com "),
    ]
    with pytest.raises(ValidationError) as caught:
        services.message_create(owner=owner, content="plan", initial_delay_months=1, recipients=recipients)
    assert caught.value.message_dict == {
        "recipients[2].contact": ["Rae already has this address; each address gets the message once."]
    }
    assert not Message.objects.exists()


def test_an_update_refuses_the_same_address_twice(owner, make_message):
    message = make_message(owner)
    with pytest.raises(ValidationError) as caught:
        services.message_update(
            message=message,
            content="plan",
            initial_delay_months=1,
            recipients=[
                {"name": "A", "contact": HOOK, "contact_type": "webhook"},
                {"name": "B", "contact": HOOK.upper().replace("/CRADLE", "/cradle/"), "contact_type": "webhook"},
            ],
        )
    assert list(caught.value.message_dict) == ["recipients[1].contact"]
    assert [r.contact for r in message.recipients.all()] == ["rae@example.com"]


def test_different_addresses_pass_and_are_stored_as_typed(owner):
    message, _key = services.message_create(
        owner=owner,
        content="plan",
        initial_delay_months=1,
        recipients=[
            _email("Rae", "Rae@Example.com"),
            _email("Sol", "sol@example.com"),
            {"name": "Hook", "contact": HOOK, "contact_type": "webhook"},
        ],
    )
    assert [r.contact for r in message.recipients.all()] == ["Rae@Example.com", "sol@example.com", HOOK]


def test_the_api_answers_400_naming_the_duplicate(api_client_for, owner):
    api = api_client_for(owner, RW)
    body = {
        "content": "the secret plan",
        "initial_delay_months": 3,
        "recipients": [_email("Rae", "rae@example.com"), _email("Rae again", "rae@EXAMPLE.COM")],
    }
    response = api.post(reverse("api:messaging-message-list"), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "recipients[1].contact": ["Rae already has this address; each address gets the message once."]
    }
    assert not Message.objects.exists()


def _page_form(rows: list[dict], *, deleted: set[int] = frozenset()) -> dict:
    data = {
        "title": "For Rae",
        "content": "the secret plan",
        "initial_delay_months": "2",
        "recipients-TOTAL_FORMS": str(len(rows)),
        "recipients-INITIAL_FORMS": "0",
        "recipients-MIN_NUM_FORMS": "1",
        "recipients-MAX_NUM_FORMS": "50",
    }
    for index, row in enumerate(rows):
        data.update({f"recipients-{index}-{k}": v for k, v in row.items()})
        if index in deleted:
            data[f"recipients-{index}-DELETE"] = "on"
    return data


def test_the_page_shows_the_refusal_on_the_duplicate_row(client, owner):
    client.force_login(owner)
    # Row 0 is deleted, so the service's recipients[1] is the page's row 2.
    rows = [_email("Gone", "gone@example.com"), _email("Rae", "rae@example.com"), _email("Rae2", "Rae@Example.com")]
    response = client.post(reverse("messaging:message_create"), _page_form(rows, deleted={0}))
    assert response.status_code == 200
    forms = response.context["formset"].forms
    assert forms[2].errors == {"contact": ["Rae already has this address; each address gets the message once."]}
    assert not forms[1].errors
    assert not Message.objects.exists()


@responses.activate
def test_rows_already_duplicated_are_delivered_once_per_address(owner, make_message):
    responses.post(HOOK, status=200)
    message = make_message(owner, recipients=[_email("Rae", "rae@example.com"), _email("Sol", "sol@example.com")])
    # Written past the service, as rows from before the rule are.
    Recipient.objects.bulk_create(
        [
            Recipient(message=message, name="Rae again", contact=" RAE@example.com", contact_type="email"),
            Recipient(message=message, name="Hook", contact=HOOK, contact_type="webhook"),
            Recipient(message=message, name="Hook again", contact=HOOK + "/", contact_type="webhook"),
        ]
    )
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        for _ in range(3):
            messaging_minute()
    assert sorted(m.to[0] for m in mail.outbox) == ["rae@example.com", "sol@example.com"]
    assert len(responses.calls) == 1
    assert Delivery.objects.filter(message=message).count() == 3
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert StatusLog.objects.get(message=message, status="DELIVERED").data["recipients"] == 3
