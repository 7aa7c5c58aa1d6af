"""A password change ends every other session, keeps this one, and may revoke every API key."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import ApiKey, UserSession
from ops.audit_models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "pw-alice-123!"
NEW = "a-new-long-pass-91"


def _logged_in(user) -> Client:
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _change(client, **extra):
    body = {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW} | extra
    return client.post(reverse("accounts:password_change"), body)


def test_it_ends_the_other_sessions_and_keeps_this_one(owner, other_user):
    here, laptop, phone = _logged_in(owner), _logged_in(owner), _logged_in(owner)
    bystander = Client()
    bystander.force_login(other_user)
    laptop_key = laptop.session.session_key
    assert _change(here).status_code == 302
    assert not Session.objects.filter(session_key=laptop_key).exists()
    assert here.get(reverse("accounts:profile")).status_code == 200
    for gone in (laptop, phone):
        assert gone.get(reverse("accounts:profile")).status_code == 302  # to the log-in
    assert bystander.get(reverse("accounts:profile")).status_code == 200
    assert list(UserSession.objects.filter(user=owner).values_list("session_key", flat=True)) == [
        here.session.session_key
    ]
    event = AuditEvent.objects.get(user=owner, event_type=AuditEvent.EventType.PASSWORD_CHANGED)
    assert event.extra_data == {"sessions_ended": 2, "api_keys_revoked": 0}


def test_it_keeps_the_api_keys_unless_asked(owner, api_client_for):
    api = api_client_for(owner, ["messages:read"])
    _change(_logged_in(owner))
    assert api.get("/api/v1/messages/").status_code == 200


def test_it_revokes_every_api_key_when_asked(owner, other_user, api_client_for):
    mine = [api_client_for(owner, ["messages:read"]) for _ in range(2)]
    theirs = api_client_for(other_user, ["messages:read"])
    _change(_logged_in(owner), revoke_api_keys="on")
    assert [api.get("/api/v1/messages/").status_code for api in mine] == [401, 401]
    assert theirs.get("/api/v1/messages/").status_code == 200
    assert not ApiKey.objects.filter(user=owner, is_active=True).exists()
    assert AuditEvent.objects.filter(user=owner, event_type=AuditEvent.EventType.API_KEY_REVOKED).count() == 2


def test_the_form_offers_the_checkbox(client, owner):
    client.force_login(owner)
    page = client.get(reverse("accounts:password_change")).content.decode()
    assert 'name="revoke_api_keys"' in page and "Also revoke all my API keys" in page


def test_a_wrong_old_password_changes_nothing(owner):
    here, other = _logged_in(owner), _logged_in(owner)
    response = _change(here, old_password="wrong", revoke_api_keys="on")
    assert response.status_code == 200
    assert other.get(reverse("accounts:profile")).status_code == 200


def test_a_password_reset_ends_every_session(client, owner):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    signed_in = _logged_in(owner)
    owner.refresh_from_db()  # the log-in wrote last_login, which the reset token covers
    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    url = reverse("accounts:password_reset_confirm", args=[uid, default_token_generator.make_token(owner)])
    form_url = client.get(url).url  # Django moves the token into the session first
    assert client.post(form_url, {"new_password1": NEW, "new_password2": NEW}).status_code == 302
    assert signed_in.get(reverse("accounts:profile")).status_code == 302
    assert (
        AuditEvent.objects.get(user=owner, event_type=AuditEvent.EventType.PASSWORD_CHANGED).extra_data["reset"] is True
    )
