"""Passkeys end to end in headless Chromium with a virtual authenticator (the DevTools protocol's
WebAuthn domain): register one on the two-factor page, then log in with it as the second step,
then confirm a sensitive change with it (re-authentication).

WebAuthn needs a secure context; ``http://localhost`` is one, so the live server's
``localhost`` URL is the site and ``localhost`` the relying party.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts import reauth
from accounts.mfa_models import RecoveryCode, WebAuthnCredential
from accounts.models import User
from tests.browser.conftest import BROWSER, PASSWORD, flash_text, log_in

pytestmark = BROWSER


def _virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


def _age_the_sessions(seconds: int) -> None:
    """Move every session's last proof back (the browser's clock is not ours to freeze)."""
    for row in Session.objects.all():
        data = row.get_decoded()
        if reauth.SESSION_AUTH_AT in data:
            data[reauth.SESSION_AUTH_AT] -= seconds
            row.session_data = Session.objects.encode(data)
            row.save()


@pytest.mark.one_database
@pytest.mark.django_db(transaction=True)
def test_a_passkey_registers_logs_in_and_reauthenticates(live_server, page, settings):
    assert live_server.url.startswith("http://localhost:")
    settings.SITE_URL = live_server.url
    settings.WEBAUTHN_RP_ID = "localhost"
    base = live_server.url
    user = User.objects.create_user(username="pia", email="pia@example.com", password=PASSWORD)
    _virtual_authenticator(page)

    # Register: the first factor comes with ten recovery codes, shown once.
    log_in(page, base, "pia", "/accounts/two-factor/")
    assert "Two-factor authentication is off" in page.inner_text("main")
    page.fill("#passkey-name", "Laptop")
    page.click("#passkey-add-button")
    page.wait_for_url(f"{base}/accounts/two-factor/recovery-codes/new/")
    assert page.locator("#recovery-codes li").count() == 10
    assert "The passkey “Laptop” was added." in flash_text(page)
    credential = WebAuthnCredential.objects.get(user=user)
    assert credential.name == "Laptop" and credential.last_used_at is None
    assert RecoveryCode.objects.filter(user=user).count() == 10
    page.goto(f"{base}/accounts/two-factor/recovery-codes/new/")  # once only
    assert page.url == f"{base}/accounts/two-factor/"

    # Log in again: the password alone is not enough; the passkey is the second step.
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/?next=/messages/")
    page.fill("#id_username", "pia")
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/accounts/login/verify/")
    page.goto(f"{base}/messages/")
    assert page.url.startswith(f"{base}/accounts/login/")  # not logged in yet
    page.goto(f"{base}/accounts/login/verify/")
    page.click("#passkey-login-button")
    page.wait_for_url(f"{base}/messages/")
    credential.refresh_from_db()
    assert credential.last_used_at is not None
    assert page.locator("#two-factor-suggestion").count() == 0  # it is on now

    # Sudo mode: past the window, editing a message asks again; the passkey answers.
    _age_the_sessions(settings.REAUTH_WINDOW_SECONDS + 5)
    page.goto(f"{base}/accounts/keys/")
    page.fill("#id_name", "deploy")
    page.check("input[name=permissions][value='messages:read']")
    page.click("#apikey-form button[type=submit]")
    page.wait_for_url(f"{base}/accounts/reauth/?next=%2Faccounts%2Fkeys%2F")
    assert not user.api_keys.exists()  # the late POST was not run
    before = timezone.now() - timedelta(seconds=1)
    page.click("#reauth-passkey-button")
    page.wait_for_url(f"{base}/accounts/keys/")
    credential.refresh_from_db()
    assert credential.last_used_at >= before
    page.fill("#id_name", "deploy")
    page.check("input[name=permissions][value='messages:read']")
    page.click("#apikey-form button[type=submit]")
    page.wait_for_selector("#new-key-secret")
    assert user.api_keys.count() == 1
