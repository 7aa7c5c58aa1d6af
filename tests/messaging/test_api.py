"""The messages API: scopes, nested recipients, answers, logs, owner scoping, clear 400s."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging import services
from messaging.models import Message

pytestmark = pytest.mark.django_db
RW = ["messages:read", "messages:write"]


def body(**extra) -> dict:
    data = {
        "title": "For Rae",
        "content": "the secret plan",
        "initial_delay_months": 3,
        "recipients": [{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}],
    }
    data.update(extra)
    return data


def test_it_creates_with_nested_recipients_and_returns_the_key_once(api_client_for, owner):
    api = api_client_for(owner, RW)
    response = api.post(reverse("api:messaging-message-list"), body(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    message = Message.objects.get(pk=data["id"])
    assert message.revocation_key_hash == services.revocation_key_hash(data["revocation_key"])
    assert data["recipients"][0]["contact"] == "rae@example.com"
    assert [s["step"] for s in data["schedule"]] == [1, 2, 3, 4, 5, 6]
    detail = api.get(reverse("api:messaging-message-detail", args=[message.pk])).json()
    assert "revocation_key" not in detail


def test_bad_input_is_a_400_naming_the_field(api_client_for, owner, settings):
    settings.MESSAGING_SMS_GATEWAY = ""
    api = api_client_for(owner, RW)
    bad = body(recipients=[{"name": "P", "contact": "+14155550123", "contact_type": "sms"}])
    response = api.post(reverse("api:messaging-message-list"), bad, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    [(field, reasons)] = fields.items()
    assert field.startswith("recipients") and field.endswith("contact")
    assert "SMS is not available" in reasons[0]
    response = api.post(
        reverse("api:messaging-message-list"), body(initial_delay_months=0, recipients=[]), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"recipients"}


def test_scopes_are_enforced(api_client_for, owner, make_message):
    message = make_message(owner)
    reader = api_client_for(owner, ["messages:read"])
    assert reader.get(reverse("api:messaging-message-list")).status_code == 200
    assert reader.post(reverse("api:messaging-message-reset", args=[message.pk])).status_code == 403
    other_area = api_client_for(owner, ["publishing:read"])
    assert other_area.get(reverse("api:messaging-message-list")).status_code == 403


@pytest.mark.parametrize(
    ("action", "status"), [("reset", "WARNING_RESET"), ("continue", "CONTINUED"), ("revoke", "REVOKED")]
)
def test_answers(api_client_for, owner, make_message, action, status):
    message = make_message(owner, level=1)
    api = api_client_for(owner, RW)
    response = api.post(reverse(f"api:messaging-message-{action}", args=[message.pk]))
    assert response.status_code == 200
    logs = api.get(reverse("api:messaging-message-logs", args=[message.pk])).json()
    assert [log["status"] for log in logs["results"]] == [status]


def test_continue_with_no_warning_out_is_a_clear_400(api_client_for, owner, make_message):
    message = make_message(owner)
    response = api_client_for(owner, RW).post(reverse("api:messaging-message-continue", args=[message.pk]))
    assert response.status_code == 400
    assert "No warning is waiting" in str(response.json()["error"]["fields"]["state"])
    assert not message.status_logs.exists()


def test_answering_a_revoked_message_is_a_clear_400(api_client_for, owner, make_message):
    message = make_message(owner)
    services.message_revoke(message=message)
    api = api_client_for(owner, RW)
    response = api.post(reverse("api:messaging-message-reset", args=[message.pk]))
    assert response.status_code == 400
    assert "revoked" in response.json()["error"]["fields"]["state"][0]


def test_update_replaces_recipients(api_client_for, owner, make_message):
    message = make_message(owner)
    api = api_client_for(owner, RW)
    response = api.patch(
        reverse("api:messaging-message-detail", args=[message.pk]),
        {"recipients": [{"name": "Sol", "contact": "https://hooks.example.com/a", "contact_type": "webhook"}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [r["name"] for r in response.json()["recipients"]] == ["Sol"]
    message.refresh_from_db()
    assert message.content == "the secret plan"


@pytest.mark.parametrize("missing", ["name", "contact"])
def test_a_patch_with_an_incomplete_recipient_is_a_400(api_client_for, owner, make_message, missing):
    # A PATCH is partial, but the recipients it sends replace the list: each needs every field.
    message = make_message(owner)
    recipient = {"name": "Sol", "contact": "sol@example.com", "contact_type": "email"}
    del recipient[missing]
    api = api_client_for(owner, RW)
    response = api.patch(
        reverse("api:messaging-message-detail", args=[message.pk]), {"recipients": [recipient]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {f"recipients[0].{missing}": ["This field is required."]}
    assert [r.name for r in message.recipients.all()] == ["Rae"]


def test_another_user_gets_404s(api_client_for, owner, other_user, make_message):
    message = make_message(owner)
    api = api_client_for(other_user, RW)
    assert api.get(reverse("api:messaging-message-list")).json()["results"] == []
    for name in ("detail", "logs"):
        assert api.get(reverse(f"api:messaging-message-{name}", args=[message.pk])).status_code == 404
    for name in ("reset", "continue", "revoke"):
        assert api.post(reverse(f"api:messaging-message-{name}", args=[message.pk])).status_code == 404
    assert api.delete(reverse("api:messaging-message-detail", args=[message.pk])).status_code == 404
    assert api.patch(reverse("api:messaging-message-detail", args=[message.pk]), {"content": "x"}).status_code == 404
    message.refresh_from_db()
    assert message.state == "active" and not message.status_logs.exists()


def test_the_list_query_count_does_not_grow(api_client_for, owner, make_message, django_assert_max_num_queries):
    api = api_client_for(owner, ["messages:read"])
    for _ in range(2):
        make_message(owner)
    with django_assert_max_num_queries(8):
        api.get(reverse("api:messaging-message-list"))
    for _ in range(10):
        make_message(owner)
    with django_assert_max_num_queries(8):
        assert len(api.get(reverse("api:messaging-message-list")).json()["results"]) == 12
