"""Which warnings go to which contact, on the message's own ladder (messaging.escalation.routed),
the per-message override, and no warning to any contact while a pause is in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from messaging import notices, owner_contacts
from messaging.models import Message, OwnerContact
from tests.clock import NOW
from tests.conftest import make_api_client
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db
DAY = 86400
OTHER = "alice.backup@example.org"


@pytest.fixture(autouse=True)
def seed(seed_ladder):
    return seed_ladder


def _verified_contact(owner, **kw) -> OwnerContact:
    contact, _link = owner_contacts.contact_add(owner=owner, kind="email", address=OTHER, **kw)
    OwnerContact.objects.filter(pk=contact.pk).update(verified_at=NOW)
    mail.outbox.clear()  # its code
    return contact


def _warned(address: str) -> list[str]:
    return [m.subject for m in mail.outbox if address in m.to and "warning" in m.subject.lower()]


def _at(clock, when) -> None:
    clock.move_to(when, tick=False)
    messaging_minute()


def test_it_ends_a_shorter_ladder_with_its_final_warning_on_every_contact(owner, make_message):
    with time_machine.travel(NOW, tick=False) as clock:
        _verified_contact(owner)  # warnings from level 3 on: past this ladder's two
        make_message(owner, ladder_name="custom", ladder_steps=[DAY, DAY, DAY])
        _at(clock, NOW + timedelta(days=1))
        assert len(_warned(owner.email)) == 1 and _warned(OTHER) == []
        _at(clock, NOW + timedelta(days=2, minutes=1))
        assert len(_warned(owner.email)) == 2
        assert _warned(OTHER) == ["Cradle: final warning - please check in"]


def test_the_api_overrides_the_contacts_level_per_message_and_refuses_a_bad_one_with_the_field(owner):
    api = make_api_client(owner, ["messages:read", "messages:write"])
    body = {
        "content": "the plan",
        "initial_delay_months": 1,
        "recipients": [{"name": "Rae", "contact": "rae@example.com"}],
    }
    with time_machine.travel(NOW, tick=False) as clock:
        _verified_contact(owner)
        created = api.post("/api/v1/messages/", {**body, "contacts_from_level": 1}, format="json")
        assert created.status_code == 201 and created.json()["contacts_from_level"] == 1
        pk = created.json()["id"]
        bad = api.patch(f"/api/v1/messages/{pk}/", {"contacts_from_level": 9}, format="json")
        assert bad.status_code == 400 and "contacts_from_level" in bad.json()["error"]["fields"], bad.json()
        kept = api.patch(f"/api/v1/messages/{pk}/", {"title": "Renamed"}, format="json")
        assert kept.status_code == 200 and kept.json()["contacts_from_level"] == 1
        _at(clock, NOW + timedelta(days=30))
        assert _warned(OTHER) == ["Cradle: warning 1 of 5 - please check in"], "level 1 for this message"
        cleared = api.patch(f"/api/v1/messages/{pk}/", {"contacts_from_level": None}, format="json")
        assert cleared.status_code == 200 and Message.objects.get(pk=pk).contacts_from_level is None


def test_a_queued_warning_found_during_a_pause_reaches_no_contact_until_it_ends(owner, make_message):
    with time_machine.travel(NOW, tick=False) as clock:
        _verified_contact(owner, first_level=1)
        message = make_message(owner)
        until = NOW + timedelta(days=2)
        Message.objects.filter(pk=message.pk).update(
            warning_level=1, next_warning_date=NOW, warning_email_due_at=NOW, paused_until=until
        )
        notices.warnings_send()
        assert _warned(owner.email) == [] and _warned(OTHER) == []
        assert Message.objects.get(pk=message.pk).warning_email_due_at == until
        clock.move_to(until, tick=False)
        notices.warnings_send()
        assert len(_warned(owner.email)) == 1 and len(_warned(OTHER)) == 1


def test_test_warnings_are_rate_limited_per_owner(owner, client, settings):
    settings.RATE_LIMIT_TEST_WARNING = (2, 3600)
    api = make_api_client(owner, ["messages:read", "messages:write"])
    assert api.post("/api/v1/owner-contacts/test-warning/").status_code == 200
    client.force_login(owner)
    assert client.post("/messages/contacts/test-warning/").status_code == 302
    refused = api.post("/api/v1/owner-contacts/test-warning/")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert client.post("/messages/contacts/test-warning/").status_code == 429
    assert len([m for m in mail.outbox if "TEST" in m.subject]) == 2


@pytest.mark.parametrize("body", [[1, 2], {"label": ["x"]}, {"label": 5}, {"first_level": "high"}, {"address": "x"}])
def test_a_bad_api_change_of_a_contact_is_a_400_naming_the_field(owner, body):
    contact = _verified_contact(owner)
    api = make_api_client(owner, ["messages:read", "messages:write"])
    response = api.patch(f"/api/v1/owner-contacts/{contact.pk}/", body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["fields"], response.json()
