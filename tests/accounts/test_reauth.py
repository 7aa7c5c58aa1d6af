"""Sudo mode: every sensitive change asks for the password (or a second factor) again after the window.

Each case logs in at NOW (which records the proof), then acts within the window (it works)
and, in a second client, after it (the change is not made and the answer is a redirect to
``accounts:reauth`` whose ``next`` is a page to GET, never the POST to replay).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.mfa_models import RecoveryCode
from accounts.models import ApiKey, User
from messaging import services
from messaging.models import Message, Recipient
from publishing import services as publishing_services
from publishing.models import Project
from tests.clock import NOW
from tests.conftest import give_totp, totp_code

pytestmark = pytest.mark.django_db

PASSWORD = "pw-alice-123!"
LATE = timedelta(seconds=601)  # REAUTH_WINDOW_SECONDS is 600


@pytest.fixture
def message(owner) -> Message:
    recipients = [
        {"name": "Rae", "contact": "rae@example.com", "contact_type": "email"},
        {"name": "Hook", "contact": "https://hooks.example.com/x", "contact_type": "webhook"},
    ]
    return services.message_create(owner=owner, content="plan", initial_delay_months=1, recipients=recipients)[0]


def _edit_body(contact: str) -> dict:
    return {
        "title": "t",
        "content": "plan",
        "initial_delay_months": "1",
        "recipients-TOTAL_FORMS": "1",
        "recipients-INITIAL_FORMS": "0",
        "recipients-MIN_NUM_FORMS": "1",
        "recipients-MAX_NUM_FORMS": "50",
        "recipients-0-name": "Sol",
        "recipients-0-contact_type": "email",
        "recipients-0-contact": contact,
    }


@dataclass
class Sensitive:
    label: str
    url: Callable  # (owner, message) -> url
    body: Callable  # (owner, message) -> POST data
    done: Callable  # (owner, message) -> bool: the change was made
    form_page: Callable  # (owner, message) -> where the user comes back to (a GET)
    setup: Callable = lambda owner, message: None


CASES = [
    Sensitive(
        "add an authenticator app",
        url=lambda o, m: reverse("accounts:totp_add"),
        body=lambda o, m: {"code": totp_code(mfa.totp_pending_device(o))},
        done=lambda o, m: mfa.user_has_second_factor(o),
        form_page=lambda o, m: reverse("accounts:totp_add"),
    ),
    Sensitive(
        "start adding a passkey",
        url=lambda o, m: reverse("accounts:passkey_add_options"),
        body=lambda o, m: {},
        done=lambda o, m: "cradle_webauthn_challenge" in _session_of(o),
        form_page=lambda o, m: reverse("accounts:two_factor"),
    ),
    Sensitive(
        "make new recovery codes",
        url=lambda o, m: reverse("accounts:recovery_regenerate"),
        body=lambda o, m: {},
        done=lambda o, m: RecoveryCode.objects.filter(user=o).count() == 10,
        form_page=lambda o, m: reverse("accounts:two_factor"),
        setup=lambda o, m: give_totp(o),
    ),
    Sensitive(
        "remove a factor",
        url=lambda o, m: reverse("accounts:factor_remove", args=["totp", TOTPDevice.objects.get(user=o).pk]),
        body=lambda o, m: {},
        done=lambda o, m: not TOTPDevice.objects.filter(user=o).exists(),
        form_page=lambda o, m: reverse("accounts:two_factor"),
        setup=lambda o, m: give_totp(o),
    ),
    Sensitive(
        "create an API key",
        url=lambda o, m: reverse("accounts:apikey_list"),
        body=lambda o, m: {"name": "k", "permissions": ["messages:read"]},
        done=lambda o, m: ApiKey.objects.filter(user=o).exists(),
        form_page=lambda o, m: reverse("accounts:apikey_list"),
    ),
    Sensitive(
        "change a message's recipients",
        url=lambda o, m: reverse("messaging:message_edit", args=[m.pk]),
        body=lambda o, m: _edit_body("sol@example.com"),
        done=lambda o, m: m.recipients.filter(name="Sol").exists(),
        form_page=lambda o, m: reverse("messaging:message_edit", args=[m.pk]),
    ),
    Sensitive(
        "regenerate a webhook's signing secret",
        url=lambda o, m: reverse("messaging:recipient_secret", args=[m.pk, _hook(m).pk]),
        body=lambda o, m: {"do": "regenerate"},
        done=lambda o, m: _hook(m).webhook_secret != _SECRETS.get(m.pk),
        form_page=lambda o, m: reverse("messaging:message_detail", args=[m.pk]),
        setup=lambda o, m: _SECRETS.__setitem__(m.pk, _hook(m).webhook_secret),
    ),
    Sensitive(
        "make a new alert webhook signing secret",
        url=lambda o, m: reverse("publishing:alert_webhook_secret", args=[_alerted(o).pk]),
        body=lambda o, m: {"do": "regenerate"},
        done=lambda o, m: _alerted(o).alert_webhook_secret != _SECRETS.get(-o.pk),
        form_page=lambda o, m: reverse("publishing:project_detail", args=[_alerted(o).pk]),
        setup=lambda o, m: _SECRETS.__setitem__(-o.pk, _alerted(o).alert_webhook_secret),
    ),
    Sensitive(
        "change the e-mail address",
        url=lambda o, m: reverse("accounts:email_change"),
        body=lambda o, m: {"email": "new-address@example.com"},
        done=lambda o, m: any(email.to == ["new-address@example.com"] for email in mail.outbox),
        form_page=lambda o, m: reverse("accounts:email_change"),
    ),
    Sensitive(
        "change the password",
        url=lambda o, m: reverse("accounts:password_change"),
        body=lambda o, m: {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-pass-91",
            "new_password2": "a-new-long-pass-91",
        },
        done=lambda o, m: User.objects.get(pk=o.pk).check_password("a-new-long-pass-91"),
        form_page=lambda o, m: reverse("accounts:password_change"),
    ),
]

_SECRETS: dict[int, str] = {}
_SESSIONS: dict[int, Client] = {}


def _alerted(owner) -> Project:
    """The owner's project with an alert webhook (and so a signing secret)."""
    project = Project.objects.filter(owner=owner).first()
    if project is None:
        project = publishing_services.project_create(
            owner=owner, name="Alerted", alert_webhook_url="https://hooks.example.com/alerts"
        )
    return project


def _hook(message: Message) -> Recipient:
    return Recipient.objects.get(message=message, contact_type=Recipient.ContactType.WEBHOOK)


def _session_of(owner) -> dict:
    return dict(_SESSIONS[owner.pk].session.items())


def _logged_in_at_now(owner) -> Client:
    client = Client()
    client.post(reverse("accounts:login"), {"username": owner.username, "password": PASSWORD})
    device = TOTPDevice.objects.filter(user=owner, confirmed=True).first()
    if device is not None:
        client.post(reverse("accounts:login_verify"), {"method": "totp", "code": totp_code(device)})
    assert client.session["_auth_user_id"] == str(owner.pk)
    _SESSIONS[owner.pk] = client
    return client


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_it_works_within_the_window(owner, message, case):
    with time_machine.travel(NOW, tick=False) as clock:
        case.setup(owner, message)
        client = _logged_in_at_now(owner)
        clock.shift(timedelta(seconds=590))
        response = client.post(case.url(owner, message), case.body(owner, message))
        assert response.status_code in (200, 302)
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("accounts:reauth"))
        assert case.done(owner, message)


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_it_asks_again_after_the_window_and_does_not_run_the_post(owner, message, case):
    with time_machine.travel(NOW, tick=False) as clock:
        case.setup(owner, message)
        client = _logged_in_at_now(owner)
        clock.shift(LATE)
        response = client.post(case.url(owner, message), case.body(owner, message))
        assert response.status_code == 302
        location = urlsplit(response["Location"])
        assert location.path == reverse("accounts:reauth")
        back = parse_qs(location.query)["next"][0]
        assert back == case.form_page(owner, message)
        assert not case.done(owner, message)
        # The password again; then the user is back on the form (a GET), and it works.
        again = client.post(reverse("accounts:reauth"), {"method": "password", "password": PASSWORD, "next": back})
        assert again.status_code == 302 and again["Location"] == back
        assert client.get(back).status_code == 200
        assert not case.done(owner, message)  # nothing was replayed
        client.post(case.url(owner, message), case.body(owner, message))
        assert case.done(owner, message)


def test_the_edit_page_itself_asks_after_the_window(owner, message):
    with time_machine.travel(NOW, tick=False) as clock:
        client = _logged_in_at_now(owner)
        url = reverse("messaging:message_edit", args=[message.pk])
        assert client.get(url).status_code == 200
        clock.shift(LATE)
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:reauth"))


def test_a_wrong_password_does_not_renew_the_window(owner, message):
    with time_machine.travel(NOW, tick=False) as clock:
        client = _logged_in_at_now(owner)
        clock.shift(LATE)
        page = client.post(reverse("accounts:reauth"), {"method": "password", "password": "nope", "next": "/messages/"})
        assert page.status_code == 200 and "This password is not right" in page.content.decode()
        edit = client.get(reverse("messaging:message_edit", args=[message.pk]))
        assert edit.status_code == 302 and edit["Location"].startswith(reverse("accounts:reauth"))


def test_a_totp_code_renews_the_window(owner, message):
    device = give_totp(owner)
    with time_machine.travel(NOW, tick=False) as clock:
        client = Client()
        client.force_login(owner)
        clock.shift(LATE)
        response = client.post(
            reverse("accounts:reauth"), {"method": "totp", "code": totp_code(device), "next": "/messages/"}
        )
        assert response.status_code == 302 and response["Location"] == "/messages/"
        assert client.get(reverse("messaging:message_edit", args=[message.pk])).status_code == 200


def test_the_reauth_page_refuses_an_unsafe_next(owner):
    with time_machine.travel(NOW, tick=False):
        client = _logged_in_at_now(owner)
        response = client.post(
            reverse("accounts:reauth"), {"method": "password", "password": PASSWORD, "next": "https://evil.example/"}
        )
        assert response.status_code == 302 and response["Location"] == reverse("home")


def test_reauth_password_attempts_share_the_log_in_limit(owner, settings):
    settings.RATE_LIMIT_LOGIN = (3, 900)
    with time_machine.travel(NOW, tick=False):
        client = _logged_in_at_now(owner)
        codes = [
            client.post(reverse("accounts:reauth"), {"method": "password", "password": "nope"}).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]


def test_the_reauth_page_is_in_chinese(owner):
    owner.language = "zh-hans"
    owner.save()
    with time_machine.travel(NOW, tick=False):
        client = _logged_in_at_now(owner)
        page = client.get(reverse("accounts:reauth")).content.decode()
        assert "确认" in page and "This change is sensitive" not in page
