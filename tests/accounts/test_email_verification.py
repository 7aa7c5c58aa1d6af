"""The account e-mail is verified by a link: sign-up sends it, a signed-in POST uses it once,
it expires, and until then every page says Cradle cannot warn the owner."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.urls import reverse

from accounts.email_verification import email_verification_token
from accounts.models import User
from ops.audit_models import AuditEvent
from tests.clock import NOW

pytestmark = pytest.mark.django_db
BANNER = "Verify your e-mail address — Cradle cannot warn you until you do."


@pytest.fixture
def newcomer(make_user) -> User:
    return make_user(username="nell", email="nell@example.com", password="pw-nell-123!", verified=False)


def _signup(client):
    return client.post(
        reverse("accounts:signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "time_zone": "UTC",
            "language": "en",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )


def _link(message) -> str:
    [url] = re.findall(r"http://\S+/accounts/email/verify/\S+/", message.body)
    return urlsplit(url).path


def test_a_sign_up_is_verified_by_the_link_that_creates_the_account(client):
    """Sign-up makes no account; the e-mailed link does (accounts/signup.py), and since the
    link came to the address, the account starts verified: warnings may go to it."""
    _signup(client)
    assert not User.objects.filter(username="carol").exists()
    [message] = mail.outbox
    [url] = re.findall(r"https?://\S+/accounts/signup/confirm/[^/\s]+/", message.body)
    path = urlsplit(url).path
    assert client.get(path).status_code == 200
    assert not User.objects.filter(username="carol").exists()  # a mail scanner's GET makes nothing
    assert client.post(path, {"username": "carol"}).status_code == 302
    user = User.objects.get(username="carol")
    assert user.email_verified_at is not None
    assert AuditEvent.objects.filter(user=user, event_type=AuditEvent.EventType.ACCOUNT_CREATED).exists()


def test_it_refuses_a_link_used_once(client, newcomer):
    client.force_login(newcomer)
    path = reverse("accounts:email_verify", args=[email_verification_token(newcomer)])
    assert client.post(path).status_code == 302
    first = User.objects.get(pk=newcomer.pk).email_verified_at
    again = client.post(path)
    assert again.status_code == 400 and "already been used" in again.content.decode()
    assert User.objects.get(pk=newcomer.pk).email_verified_at == first


def test_it_refuses_an_expired_link(client, newcomer, settings):
    settings.ACCOUNT_EMAIL_LINK_DAYS = 3
    with time_machine.travel(NOW, tick=False):
        token = email_verification_token(newcomer)
    with time_machine.travel(NOW + timedelta(days=3, minutes=1), tick=False):
        client.force_login(newcomer)
        response = client.post(reverse("accounts:email_verify", args=[token]))
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert User.objects.get(pk=newcomer.pk).email_verified_at is None


def test_it_refuses_another_accounts_link_and_a_visitor(client, newcomer, owner):
    path = reverse("accounts:email_verify", args=[email_verification_token(newcomer)])
    assert client.post(path).status_code == 302  # to the log-in
    client.force_login(owner)
    assert client.post(path).status_code == 400
    assert User.objects.get(pk=newcomer.pk).email_verified_at is None


def test_it_refuses_a_forged_link(client, newcomer):
    client.force_login(newcomer)
    token = email_verification_token(newcomer)
    assert client.post(reverse("accounts:email_verify", args=[token[:-2] + "xx"])).status_code == 400


def test_it_tells_an_unverified_owner_on_every_page_and_a_verified_one_nothing(client, newcomer, owner):
    client.force_login(newcomer)
    for name in ("home", "messaging:message_list", "accounts:profile"):
        assert BANNER in client.get(reverse(name)).content.decode()
    client.force_login(owner)
    assert BANNER not in client.get(reverse("messaging:message_list")).content.decode()


def test_it_says_so_in_chinese(client, newcomer):
    newcomer.language = "zh-hans"
    newcomer.save()
    client.force_login(newcomer)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("messaging:message_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "验证您的电子邮件地址" in page


def test_it_resends_the_link_and_limits_how_often(client, newcomer, settings):
    settings.RATE_LIMIT_EMAIL_VERIFY = (3, 3600)
    client.force_login(newcomer)
    url = reverse("accounts:email_verify_resend")
    answers = [client.post(url, {"next": reverse("messaging:message_list")}).status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]
    assert len(mail.outbox) == 3 and all(m.to == ["nell@example.com"] for m in mail.outbox)


def test_the_migration_marks_existing_accounts_verified(newcomer, owner):
    migration = importlib.import_module("accounts.migrations.0003_email_verified_security_events")
    User.objects.filter(pk=owner.pk).update(email_verified_at=NOW)
    migration.mark_existing_verified(apps, None)
    assert User.objects.get(pk=newcomer.pk).email_verified_at is not None
    assert User.objects.get(pk=owner.pk).email_verified_at == NOW  # an existing date stays


def test_a_superuser_made_by_the_operator_is_verified(db):
    admin = User.objects.create_superuser(username="ops", email="ops@example.com", password="pw-ops-123456!")
    assert admin.email_verified_at is not None
