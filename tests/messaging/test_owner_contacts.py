"""The Contacts page, the ``owner-contacts`` API and the admin: add, verify, remove, scoped to the owner."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from messaging.models import OwnerContact
from tests.conftest import make_api_client

pytestmark = pytest.mark.django_db
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def page(owner):
    client = Client()
    client.force_login(owner)
    return client


def _code(address: str) -> str:
    sent = [m for m in mail.outbox if m.to == [address]]
    return CODE.search(sent[-1].body).group(1)


def test_the_page_adds_and_verifies_an_email_contact(page, owner):
    response = page.post(
        reverse("messaging:owner_contact_add"), {"kind": "email", "address": "me@backup.example", "first_level": 2}
    )
    assert response.status_code == 302
    contact = OwnerContact.objects.get(owner=owner)
    assert contact.verified_at is None and contact.first_level == 2
    assert "Cradle: your verification code" in mail.outbox[-1].subject
    wrong = page.post(reverse("messaging:owner_contact_verify", args=[contact.pk]), {"code": "12"})
    assert wrong.status_code == 400 and b"wrong or has expired" in wrong.content
    page.post(reverse("messaging:owner_contact_verify", args=[contact.pk]), {"code": _code("me@backup.example")})
    contact.refresh_from_db()
    assert contact.verified_at is not None
    listing = page.get(reverse("messaging:owner_contacts"))
    assert listing.status_code == 200 and b"me@backup.example" in listing.content
    assert b"How Cradle escalates" in listing.content


def test_the_page_says_what_is_wrong_with_an_address(page, owner):
    response = page.post(
        reverse("messaging:owner_contact_add"), {"kind": "email", "address": "not an address", "first_level": 3}
    )
    assert response.status_code == 400 and b"Enter a valid e-mail address." in response.content
    response = page.post(
        reverse("messaging:owner_contact_add"), {"kind": "email", "address": owner.email, "first_level": 3}
    )
    assert response.status_code == 400 and b"You already have this contact." in response.content
    response = page.post(reverse("messaging:owner_contact_add"), {"kind": "telegram", "first_level": 3})
    assert response.status_code == 400 and b"Telegram is not available" in response.content
    assert not OwnerContact.objects.exists()


def test_the_api_adds_verifies_lists_and_removes(owner):
    api = make_api_client(owner, ["messages:read", "messages:write"])
    created = api.post("/api/v1/owner-contacts/", {"kind": "email", "address": "api@backup.example"}, format="json")
    assert created.status_code == 201 and created.json()["is_verified"] is False
    pk = created.json()["id"]
    bad = api.post(f"/api/v1/owner-contacts/{pk}/verify/", {"code": "000000x"}, format="json")
    assert bad.status_code == 400 and "code" in bad.json()["error"]["fields"]
    ok = api.post(f"/api/v1/owner-contacts/{pk}/verify/", {"code": _code("api@backup.example")}, format="json")
    assert ok.status_code == 200 and ok.json()["is_verified"] is True
    listed = api.get("/api/v1/owner-contacts/")
    assert [c["id"] for c in listed.json()["results"]] == [pk]
    invalid = api.post("/api/v1/owner-contacts/", {"kind": "sms", "address": "+1"}, format="json")
    assert invalid.status_code == 400 and "address" in invalid.json()["error"]["fields"]
    assert api.delete(f"/api/v1/owner-contacts/{pk}/").status_code == 204
    assert not OwnerContact.objects.exists()


def test_the_api_list_is_flat_in_queries(owner, django_assert_max_num_queries):
    for index in range(6):
        OwnerContact.objects.create(owner=owner, kind="email", address=f"c{index}@example.org")
    api = make_api_client(owner, ["messages:read"])
    with django_assert_max_num_queries(8):
        assert api.get("/api/v1/owner-contacts/").status_code == 200


def test_an_outsider_can_neither_see_nor_verify_nor_remove_anothers_contact(owner, other_user):
    contact = OwnerContact.objects.create(owner=owner, kind="email", address="secret@alice.example")
    outsider = Client()
    outsider.force_login(other_user)
    assert b"secret@alice.example" not in outsider.get(reverse("messaging:owner_contacts")).content
    for name in ("owner_contact_verify", "owner_contact_resend", "owner_contact_remove", "owner_contact_level"):
        response = outsider.post(reverse(f"messaging:{name}", args=[contact.pk]), {"code": "123456", "first_level": 1})
        assert response.status_code == 404, name
    api = make_api_client(other_user, ["messages:read", "messages:write"])
    assert api.get("/api/v1/owner-contacts/").json()["results"] == []
    assert api.get(f"/api/v1/owner-contacts/{contact.pk}/").status_code == 404
    assert (
        api.post(f"/api/v1/owner-contacts/{contact.pk}/verify/", {"code": "123456"}, format="json").status_code == 404
    )
    assert api.patch(f"/api/v1/owner-contacts/{contact.pk}/", {"first_level": 1}, format="json").status_code == 404
    assert api.delete(f"/api/v1/owner-contacts/{contact.pk}/").status_code == 404
    admin = outsider.get(reverse("admin:messaging_ownercontact_change", args=[contact.pk]))
    assert admin.status_code == 302 and "/login" in admin["Location"]  # the back office is for staff
    contact.refresh_from_db()
    assert contact.verified_at is None and contact.first_level == 3


def test_staff_see_contacts_in_the_admin_without_the_code_hash(staff, owner):
    OwnerContact.objects.create(owner=owner, kind="email", address="x@alice.example", code_hash="f" * 64)
    client = Client()
    client.force_login(staff)
    listing = client.get(reverse("admin:messaging_ownercontact_changelist"))
    assert listing.status_code == 200
    change = client.get(reverse("admin:messaging_ownercontact_change", args=[OwnerContact.objects.get().pk]))
    assert change.status_code == 200 and b"f" * 64 not in change.content
    assert client.get(reverse("admin:messaging_warningsend_changelist")).status_code == 200
