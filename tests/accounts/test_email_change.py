"""An e-mail change: a link goes to the new address, the address changes only when it is
opened (signed in, POST), the old address is told, and each link works once."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse

from accounts.email_verification import email_change_token
from accounts.models import User
from ops.audit_models import AuditEvent
from tests.accounts.admin_forms import admin_user_change

pytestmark = pytest.mark.django_db


def _request_change(client, user, new_email: str):
    client.force_login(user)
    return client.post(reverse("accounts:email_change"), {"email": new_email})


def _link(message) -> str:
    [url] = re.findall(r"http://\S+/accounts/email/change/\S+/", message.body)
    return urlsplit(url).path


def test_it_mails_the_new_address_and_keeps_the_old_one_until_the_link_is_opened(
    client, owner, django_capture_on_commit_callbacks
):
    response = _request_change(client, owner, "alice@new.example")
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["alice@new.example"]
    owner.refresh_from_db()
    assert owner.email == "alice@example.com"  # nothing changes before the link is opened
    page = client.get(_link(message))
    assert page.status_code == 200
    owner.refresh_from_db()
    assert owner.email == "alice@example.com"  # nor when it is only fetched
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(_link(message)).status_code == 302
    owner.refresh_from_db()
    assert owner.email == "alice@new.example" and owner.email_verified_at is not None
    notice = mail.outbox[-1]
    assert notice.to == ["alice@example.com"]
    assert "alice@new.example" in notice.body
    kinds = list(AuditEvent.objects.filter(user=owner).values_list("event_type", flat=True))
    assert AuditEvent.EventType.EMAIL_CHANGE_REQUESTED in kinds and AuditEvent.EventType.EMAIL_CHANGED in kinds


def test_the_profile_form_no_longer_changes_the_address(client, owner):
    client.force_login(owner)
    client.post(reverse("accounts:profile"), {"email": "evil@example.com", "time_zone": "UTC", "language": "en"})
    owner.refresh_from_db()
    assert owner.email == "alice@example.com"


def test_a_change_link_works_once(client, owner):
    _request_change(client, owner, "alice@new.example")
    path = _link(mail.outbox[0])
    assert client.post(path).status_code == 302
    assert client.post(path).status_code == 400
    assert User.objects.get(pk=owner.pk).email == "alice@new.example"


def test_a_newer_change_kills_an_older_link(client, owner):
    _request_change(client, owner, "first@new.example")
    _request_change(client, owner, "second@new.example")
    first, second = (_link(m) for m in mail.outbox)
    assert client.post(second).status_code == 302
    assert client.post(first).status_code == 400
    assert User.objects.get(pk=owner.pk).email == "second@new.example"


def test_it_refuses_an_address_another_account_has(client, owner, other_user):
    response = _request_change(client, owner, "BOB@example.com")
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert mail.outbox == []


def test_it_refuses_a_link_whose_address_was_taken_meanwhile(client, owner, make_user):
    token = email_change_token(owner, "taken@example.com")
    make_user(username="tess", email="taken@example.com", password="pw-tess-123!")
    client.force_login(owner)
    assert client.post(reverse("accounts:email_change_confirm", args=[token])).status_code == 400
    assert User.objects.get(pk=owner.pk).email == "alice@example.com"


def test_another_account_cannot_use_the_link(client, owner, other_user):
    token = email_change_token(owner, "alice@new.example")
    client.force_login(other_user)
    assert client.post(reverse("accounts:email_change_confirm", args=[token])).status_code == 400
    assert User.objects.get(pk=owner.pk).email == "alice@example.com"
    assert User.objects.get(pk=other_user.pk).email == "bob@example.com"


def test_change_requests_are_limited(client, owner, settings):
    settings.RATE_LIMIT_EMAIL_CHANGE = (2, 3600)
    answers = [_request_change(client, owner, f"n{i}@new.example").status_code for i in range(3)]
    assert answers == [302, 302, 429]
    assert len(mail.outbox) == 2


def test_staff_changing_the_address_is_recorded_and_told_to_the_old_address(
    client, owner, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_user_change(client, owner, email="alice@staff.example")
    assert response.status_code == 302
    notices = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert len(notices) == 1 and "alice@staff.example" in notices[0].body
    # The new address gets a link to verify it; until then no warning goes there.
    assert any(m.to == ["alice@staff.example"] and "/accounts/email/verify/" in m.body for m in mail.outbox)
    event = AuditEvent.objects.get(user=owner, event_type=AuditEvent.EventType.STAFF_CHANGED_EMAIL)
    assert event.actor_id == staff.pk and event.actor_kind == AuditEvent.ActorKind.STAFF
    assert event.extra_data["old_email"] == "alice@example.com"
    assert event.extra_data["new_email"] == "alice@staff.example" and "email" in event.extra_data["fields"]
    # One edit, one event: the admin's change-log hook adds no "staff changed your data" beside it.
    assert not AuditEvent.objects.filter(user=owner, event_type=AuditEvent.EventType.STAFF_CHANGED_DATA).exists()


def test_staff_changing_the_password_is_recorded_and_told(client, owner, staff):
    client.force_login(staff)
    url = reverse("admin:auth_user_password_change", args=[owner.pk])
    response = client.post(
        url, {"password1": "a-staff-set-pass-77", "password2": "a-staff-set-pass-77", "usable_password": "true"}
    )
    assert response.status_code == 302, response.content[:500]
    [notice] = mail.outbox
    assert notice.to == ["alice@example.com"] and "password" in notice.subject.lower()
    assert "a-staff-set-pass-77" not in notice.body
    event = AuditEvent.objects.get(user=owner, event_type=AuditEvent.EventType.STAFF_CHANGED_PASSWORD)
    assert event.actor_id == staff.pk
