"""One-line fields refuse line breaks and control characters; headers built from stored text are always one line."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from messaging import services
from messaging.models import Delivery, Message
from tests.clock import NOW
from tests.jobs import messaging_minute
from tests.messaging.page_forms import message_form

pytestmark = pytest.mark.django_db
RAE = {"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}
BREAKS = ["\n", "\r", "\r\n", "\x00", "\x1f", "\x7f", "\u2028", "\u2029", "\x85"]


def _create(owner, **changes):
    values = {"owner": owner, "content": "the plan", "initial_delay_months": 1, "recipients": [RAE], **changes}
    return services.message_create(**values)


@pytest.mark.parametrize("char", BREAKS, ids=repr)
def test_the_service_refuses_a_title_with_a_line_break_or_control_character(owner, char):
    with pytest.raises(ValidationError) as info:
        _create(owner, title=f"Hello{char}World")
    assert list(info.value.message_dict) == ["title"]
    assert "one line" in info.value.message_dict["title"][0]
    assert not Message.objects.exists()


def test_the_service_refuses_line_breaks_in_a_recipients_name_and_contact(owner):
    with pytest.raises(ValidationError) as info:
        _create(
            owner,
            recipients=[
                {"name": "Rae\nBcc: x@example.com", "contact": "rae@example.com", "contact_type": "email"},
                {"name": "Hook", "contact": "https://hooks.example.com/a\u2028b", "contact_type": "webhook"},
            ],
        )
    assert set(info.value.message_dict) == {"recipients[0].name", "recipients[1].contact"}


def test_an_edit_refuses_it_too(owner, make_message):
    message = make_message(owner, title="Fine")
    with pytest.raises(ValidationError) as info:
        services.message_update(message=message, content="x", initial_delay_months=1, title="Hello\nWorld")
    assert list(info.value.message_dict) == ["title"]
    message.refresh_from_db()
    assert message.title == "Fine"


def test_the_api_answers_400_naming_the_title(api_client_for, owner):
    api = api_client_for(owner, ["messages:read", "messages:write"])
    body = {"title": "Hello\nWorld", "content": "the plan", "initial_delay_months": 1, "recipients": [RAE]}
    response = api.post(reverse("api:messaging-message-list"), body, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == ["title"]
    assert not Message.objects.exists()


def test_the_page_shows_it_as_an_error_on_the_title(client, owner):
    client.force_login(owner)
    form = message_form(title="Hello\nWorld")
    response = client.post(reverse("messaging:message_create"), form)
    assert response.status_code == 200
    assert "one line" in " ".join(response.context["form"].errors["title"])
    assert not Message.objects.exists()


def test_a_stored_title_with_a_line_break_still_delivers_in_one_header(owner, make_message):
    """A row from before the rule: written straight to the table, as the old page and API did."""
    message = make_message(owner, title="ok")
    Message.objects.filter(pk=message.pk).update(
        title="Hello\r\nBcc: evil@example.com\nWorld", warning_level=5, next_warning_date=NOW
    )
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
    [email] = mail.outbox
    assert email.to == ["rae@example.com"] and email.bcc == []
    subject = f"A message from {owner.username}, left with Cradle: “Hello Bcc: evil@example.com World”"
    assert email.subject == subject
    headers = email.message()
    # The quotes are not ASCII, so the header is RFC 2047-encoded: one header, read back whole.
    assert str(make_header(decode_header(headers["Subject"]))) == subject and headers["Bcc"] is None
    assert Delivery.objects.get(message=message).state == Delivery.State.SENT


def test_an_owners_name_with_a_line_break_makes_a_one_line_subject(owner, make_message):
    owner.first_name, owner.last_name = "Al\nice", "Smith\r"
    owner.save()
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
    [email] = mail.outbox
    assert email.subject == "A message from Al ice Smith, left with Cradle"
