"""The API's one error mapping: a service's Django ValidationError and a StateError are 400s
in the documented body, never 500s, whichever app's view let them through."""

from __future__ import annotations

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse

from cradle_site.errors import StateError
from messaging import services

pytestmark = pytest.mark.django_db
RW = ["messages:read", "messages:write"]
BODY = {
    "content": "the secret plan",
    "initial_delay_months": 3,
    "recipients": [{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}],
}


def _reset_raising(monkeypatch, api_client_for, owner, error: Exception):
    # The reset view calls the service bare, as every API view now does: only the site's
    # exception handler stands between the service's exception and a 500.
    message, _key = services.message_create(owner=owner, **BODY)

    def refuse(message):
        raise error

    # Deep inside the service, not the service itself: the pages keep their own reference
    # to message_reset from import time, and a patched one would outlive this test there.
    monkeypatch.setattr(services, "_lock", refuse)
    api = api_client_for(owner, RW)
    return api.post(reverse("api:messaging-message-reset", args=[message.pk]))


@pytest.mark.parametrize(
    ("error", "fields"),
    [
        (
            ValidationError({"recipients[0].contact": "No such host.", "title": ["Too long.", "Odd."]}),
            {"recipients[0].contact": ["No such host."], "title": ["Too long.", "Odd."]},
        ),
        (ValidationError("Try again later."), {"non_field_errors": ["Try again later."]}),
        (ValidationError(["One.", "Two."]), {"non_field_errors": ["One.", "Two."]}),
        (ValidationError({NON_FIELD_ERRORS: "Not both."}), {"non_field_errors": ["Not both."]}),
    ],
    ids=["fields-and-nested-keys", "no-field", "a-list", "django-all-key"],
)
def test_it_maps_a_service_validation_error_to_fields(monkeypatch, api_client_for, owner, error, fields):
    response = _reset_raising(monkeypatch, api_client_for, owner, error)
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert body["fields"] == fields
    first_field, reasons = next(iter(fields.items()))
    assert body["message"] == f"{first_field}: {reasons[0]}"


def test_it_maps_a_state_error_to_the_state_field(monkeypatch, api_client_for, owner):
    response = _reset_raising(monkeypatch, api_client_for, owner, StateError("It is revoked."))
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid", "message": "state: It is revoked.", "fields": {"state": ["It is revoked."]}}
    }


def test_the_same_field_errors_come_from_a_serializer_and_a_service(monkeypatch, api_client_for, owner):
    # A nested serializer error and a service error with the same key read the same to a client.
    api = api_client_for(owner, RW)
    bad = {**BODY, "recipients": [{"name": "Rae", "contact": "not-an-address", "contact_type": "email"}]}
    from_serializer = api.post(reverse("api:messaging-message-list"), bad, format="json").json()["error"]["fields"]
    reason = from_serializer["recipients[0].contact"][0]
    response = _reset_raising(monkeypatch, api_client_for, owner, ValidationError({"recipients[0].contact": reason}))
    assert response.json()["error"]["fields"] == from_serializer


def test_the_schema_documents_the_state_field(client, owner):
    client.force_login(owner)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    reset = schema["paths"]["/api/v1/messages/{id}/reset/"]["post"]["responses"]["400"]["description"]
    assert "`fields.state`" in reset and "`invalid`" in reset
