"""Trusted contacts on the pages, the API and the admin: scoped to the owner, bad input is a field error.

The outsider persona (another editor, ``other_user``) tries every id of the owner's contacts,
requests and messages by page and by API; a trusted contact's token opens only that contact's page.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from messaging import trusted
from messaging.models import AccessRequest, StatusLog, TrustedAccess, TrustedContact

pytestmark = pytest.mark.django_db
PAGE = re.compile(r"/t/([A-Za-z0-9_-]+)/")
SCOPES = ["messages:read", "messages:write"]


@pytest.fixture
def world(owner, make_message, mailoutbox):
    message = make_message(owner, content="SECRET words for Rae")
    trusted.trusted_access_set(message=message, mode=TrustedAccess.Mode.RECIPIENTS)
    contact = trusted.trusted_contact_add(owner=owner, name="Tess", email="tess@example.net", wait_days=5)
    token = PAGE.search(mailoutbox[-1].body).group(1)
    trusted.trusted_contact_verify(contact=contact)
    contact.refresh_from_db()
    request = trusted.access_request(contact=contact)
    return {"message": message, "contact": contact, "token": token, "request": request}


def test_the_owner_sees_contacts_and_refuses_on_the_page(client, owner, world):
    client.force_login(owner)
    page = client.get(reverse("messaging:trusted_contacts"))
    assert page.status_code == 200
    assert b"Tess" in page.content and b"tess@example.net" in page.content
    assert reverse("messaging:access_refuse", args=[world["request"].pk]).encode() in page.content
    response = client.post(reverse("messaging:access_refuse", args=[world["request"].pk]))
    assert response.status_code == 302
    world["request"].refresh_from_db()
    assert world["request"].state == AccessRequest.State.REFUSED
    assert StatusLog.objects.filter(message=world["message"], status="TRUSTED_REFUSED").count() == 1


def test_bad_input_on_the_page_is_a_form_error_naming_the_field(client, owner, world):
    client.force_login(owner)
    response = client.post(reverse("messaging:trusted_contacts"), {"name": "Ann", "email": "x", "wait_days": "45"})
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"email", "wait_days"}
    response = client.post(
        reverse("messaging:trusted_contacts"), {"name": "Tess", "email": "TESS@example.net", "wait_days": "3"}
    )
    assert response.status_code == 400 and "email" in response.context["form"].errors
    response = client.post(reverse("messaging:trusted_access", args=[world["message"].pk]), {"mode": "everyone"})
    assert response.status_code == 200 and "mode" in response.context["form"].errors


def test_an_outsider_gets_404_for_every_page_id_and_nothing_changes(client, other_user, world):
    client.force_login(other_user)
    request, contact, message = world["request"], world["contact"], world["message"]
    assert client.post(reverse("messaging:access_refuse", args=[request.pk])).status_code == 404
    assert client.post(reverse("messaging:trusted_contact_remove", args=[contact.pk])).status_code == 404
    assert client.get(reverse("messaging:trusted_access", args=[message.pk])).status_code == 404
    assert client.post(reverse("messaging:trusted_access", args=[message.pk]), {"mode": "off"}).status_code == 404
    page = client.get(reverse("messaging:trusted_contacts"))
    assert b"Tess" not in page.content
    request.refresh_from_db()
    assert request.state == AccessRequest.State.PENDING
    assert TrustedContact.objects.filter(pk=contact.pk).exists() and trusted.mode_of(message) == "recipients"


def test_the_api_is_scoped_and_answers_400_with_the_field(api_client_for, owner, other_user, world):
    api = api_client_for(owner, SCOPES)
    listed = api.get("/api/v1/trusted-contacts").json()
    assert [c["name"] for c in listed["results"]] == ["Tess"]
    bad = api.post(
        "/api/v1/trusted-contacts", {"name": "Ann", "email": "ann@example.net", "wait_days": 0}, format="json"
    )
    assert bad.status_code == 400 and "wait_days" in bad.json()["error"]["fields"]
    bad = api.put(f"/api/v1/messages/{world['message'].pk}/trusted-access", {"mode": "x"}, format="json")
    assert bad.status_code == 400 and "mode" in bad.json()["error"]["fields"]

    outsider = api_client_for(other_user, SCOPES)
    request = world["request"]
    assert outsider.get("/api/v1/access-requests").json()["results"] == []
    assert outsider.get("/api/v1/trusted-contacts").json()["results"] == []
    assert outsider.get(f"/api/v1/access-requests/{request.pk}").status_code == 404
    assert outsider.post(f"/api/v1/access-requests/{request.pk}/refuse").status_code == 404
    assert outsider.delete(f"/api/v1/trusted-contacts/{world['contact'].pk}").status_code == 404
    assert outsider.get(f"/api/v1/messages/{world['message'].pk}/trusted-access").status_code == 404
    request.refresh_from_db()
    assert request.state == AccessRequest.State.PENDING

    refused = api.post(f"/api/v1/access-requests/{request.pk}/refuse")
    assert refused.status_code == 200 and refused.json()["state"] == "refused"
    again = api.post(f"/api/v1/access-requests/{request.pk}/refuse")
    assert again.status_code == 400


def test_the_contacts_page_shows_no_message_and_the_token_opens_only_that_contact(
    client, owner, other_user, world, mailoutbox
):
    page = client.get(reverse("trusted_page", args=[world["token"]]))
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    body = page.content.decode()
    assert "alice" in body and "SECRET" not in body and "rae@example.com" not in body and "Rae" not in body
    assert client.get(reverse("trusted_page", args=[world["token"][:-2]])).status_code == 404
    # Another owner's contact with its own token: their request is theirs only.
    theirs = trusted.trusted_contact_add(owner=other_user, name="Tom", email="tom@example.net", wait_days=2)
    their_token = PAGE.search(mailoutbox[-1].body).group(1)
    client.post(reverse("trusted_page", args=[their_token]))
    response = client.post(reverse("trusted_request", args=[their_token]))
    assert response.status_code == 302
    assert not AccessRequest.objects.filter(contact=theirs).exists(), "bob has no message open to trusted access"
    assert AccessRequest.objects.filter(owner=owner).count() == 1
    # Opening the page changes nothing; a GET of an action is refused.
    assert client.get(reverse("trusted_request", args=[world["token"]])).status_code == 405


def test_the_contacts_page_confirms_and_requests_by_post(client, owner, make_message, mailoutbox):
    trusted.trusted_access_set(message=make_message(owner), mode=TrustedAccess.Mode.CONTACT)
    contact = trusted.trusted_contact_add(owner=owner, name="Tess", email="tess@example.net", wait_days=5)
    token = PAGE.search(mailoutbox[-1].body).group(1)
    assert b"Confirm" in client.get(reverse("trusted_page", args=[token])).content
    client.post(reverse("trusted_request", args=[token]))
    assert not AccessRequest.objects.exists(), "not before confirming"
    client.post(reverse("trusted_page", args=[token]))
    client.post(reverse("trusted_request", args=[token]))
    contact.refresh_from_db()
    assert contact.is_verified and AccessRequest.objects.get().contact == contact
    assert b"Unless the owner refuses" in client.get(reverse("trusted_page", args=[token])).content


def test_staff_see_both_and_refuse_in_the_admin(client, staff, world):
    client.force_login(staff)
    assert client.get(reverse("admin:messaging_trustedcontact_changelist")).status_code == 200
    assert client.get(reverse("admin:messaging_accessrequest_changelist")).status_code == 200
    assert client.get(reverse("admin:messaging_accessrequest_change", args=[world["request"].pk])).status_code == 200
    response = client.post(
        reverse("admin:messaging_accessrequest_changelist"),
        {"action": "refuse_requests", "_selected_action": [world["request"].pk], "index": "0"},
    )
    assert response.status_code == 302
    world["request"].refresh_from_db()
    assert world["request"].state == AccessRequest.State.REFUSED
    log = StatusLog.objects.get(message=world["message"], status="TRUSTED_REFUSED")
    assert log.data["actor"] == {"kind": "staff", "name": "staff", "user_id": staff.pk}


def test_the_owners_page_costs_the_same_queries_with_every_contact_asking(client, owner, django_assert_max_num_queries):
    from django.utils import timezone

    client.force_login(owner)
    client.get(reverse("messaging:trusted_contacts"))  # the session and its caches, once
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("messaging:trusted_contacts"))
    now = timezone.now()
    for n in range(trusted.TRUSTED_CONTACTS_MAX):
        contact = TrustedContact.objects.create(
            owner=owner, name=f"T{n}", email=f"t{n}@example.net", token_hash=f"{n:064d}", verified_at=now
        )
        AccessRequest.objects.create(owner=owner, contact=contact, grant_at=now, state=AccessRequest.State.REFUSED)
        AccessRequest.objects.create(owner=owner, contact=contact, grant_at=now)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("messaging:trusted_contacts"))
    assert page.content.count(b'class="danger">Refuse') == trusted.TRUSTED_CONTACTS_MAX
