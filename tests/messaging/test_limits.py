"""The message's limits live in the services: the page, the API and any other caller get
the same refusals, and a wrong state is a 400 under ``state`` on the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from messaging import services
from messaging.models import Message
from tests.messaging.page_forms import message_form

pytestmark = pytest.mark.django_db
RW = ["messages:read", "messages:write"]
RAE = {"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}
WEBHOOK = "https://hooks.example.com/x"


def _create(**extra) -> None:
    values = {"content": "the plan", "initial_delay_months": 2, "recipients": [RAE]}
    services.message_create(**(values | extra))


def test_the_service_refuses_a_title_over_the_limit(owner):
    with pytest.raises(ValidationError) as caught:
        _create(owner=owner, title="t" * (services.TITLE_MAX_LENGTH + 1))
    assert list(caught.value.message_dict) == ["title"]
    _create(owner=owner, title="t" * services.TITLE_MAX_LENGTH)
    assert Message.objects.get().title == "t" * services.TITLE_MAX_LENGTH


def test_the_service_refuses_a_too_long_title_on_update(owner, make_message):
    message = make_message(owner, title="short")
    with pytest.raises(ValidationError) as caught:
        services.message_update(
            message=message, content="x", initial_delay_months=1, title="t" * (services.TITLE_MAX_LENGTH + 1)
        )
    assert list(caught.value.message_dict) == ["title"]
    message.refresh_from_db()
    assert message.title == "short"


def test_the_service_refuses_too_many_recipients(owner):
    many = [{**RAE, "contact": f"r{i}@example.com"} for i in range(services.RECIPIENTS_MAX + 1)]
    with pytest.raises(ValidationError) as caught:
        _create(owner=owner, recipients=many)
    assert list(caught.value.message_dict) == ["recipients"]
    _create(owner=owner, recipients=many[:-1])
    assert Message.objects.get().recipients.count() == services.RECIPIENTS_MAX


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("name", "n" * (services.RECIPIENT_NAME_MAX_LENGTH + 1), services.RECIPIENT_NAME_MAX_LENGTH),
        (
            "contact",
            "https://hooks.example.com/" + "a" * services.RECIPIENT_CONTACT_MAX_LENGTH,
            services.RECIPIENT_CONTACT_MAX_LENGTH,
        ),
    ],
)
def test_the_service_refuses_a_recipient_field_over_its_column(owner, field, value, limit):
    # Over the column's length, MariaDB refuses the row (a 500) and SQLite keeps it whole.
    with pytest.raises(ValidationError) as caught:
        _create(owner=owner, recipients=[RAE, {**RAE, "contact_type": "webhook", "contact": WEBHOOK, field: value}])
    assert caught.value.message_dict == {f"recipients[1].{field}": [f"At most {limit} characters."]}
    assert not Message.objects.exists()


def test_the_api_refuses_a_too_long_title_naming_the_field(api_client_for, owner, make_message):
    api = api_client_for(owner, RW)
    body = {"content": "the plan", "initial_delay_months": 2, "recipients": [RAE]}
    response = api.post(
        reverse("api:messaging-message-list"), body | {"title": "t" * (services.TITLE_MAX_LENGTH + 1)}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["title"]
    assert not Message.objects.exists()
    message = make_message(owner, title="short")
    response = api.patch(
        reverse("api:messaging-message-detail", args=[message.pk]),
        {"title": "t" * (services.TITLE_MAX_LENGTH + 1)},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["title"]


def test_the_api_refuses_too_many_recipients(api_client_for, owner):
    api = api_client_for(owner, RW)
    many = [{**RAE, "contact": f"r{i}@example.com"} for i in range(services.RECIPIENTS_MAX + 1)]
    body = {"content": "the plan", "initial_delay_months": 2, "recipients": many}
    response = api.post(reverse("api:messaging-message-list"), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"recipients": [f"At most {services.RECIPIENTS_MAX} recipients."]}


def test_the_page_still_shows_the_title_limit_as_a_form_error(client, owner):
    client.force_login(owner)
    form = message_form(title="t" * (services.TITLE_MAX_LENGTH + 1), months=2)
    response = client.post(reverse("messaging:message_create"), form)
    assert response.status_code == 200
    assert response.context["form"].errors["title"]
    assert f'maxlength="{services.TITLE_MAX_LENGTH}"' in response.content.decode()
    assert not Message.objects.exists()


@pytest.mark.parametrize("action", ["reset", "continue", "revoke"])
def test_an_answer_to_a_revoked_message_is_a_400_under_state(api_client_for, owner, make_message, action):
    message = make_message(owner)
    services.message_revoke(message=message)
    api = api_client_for(owner, RW)
    response = api.post(reverse(f"api:messaging-message-{action}", args=[message.pk]))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["state"] and "revoked" in error["fields"]["state"][0]


def test_an_edit_of_a_revoked_message_is_a_400_under_state(api_client_for, owner, make_message):
    message = make_message(owner)
    services.message_revoke(message=message)
    api = api_client_for(owner, RW)
    response = api.patch(reverse("api:messaging-message-detail", args=[message.pk]), {"content": "new"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["state"]
