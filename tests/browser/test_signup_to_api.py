"""End to end in headless Chromium: sign up, log in, create an API key, call /api/v1/me with it."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from django.core import mail

from tests.browser.conftest import BROWSER

pytestmark = BROWSER


@pytest.mark.django_db(transaction=True)
def test_signup_login_create_key_and_call_the_api(live_server, page):
    base = live_server.url
    page.goto(f"{base}/accounts/signup/")
    page.fill("#id_username", "dora")
    page.fill("#id_email", "dora@example.com")
    page.select_option("#id_time_zone", "Europe/Berlin")
    page.fill("#id_password1", "a-very-long-pass-77")
    page.fill("#id_password2", "a-very-long-pass-77")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url(f"{base}/accounts/signup/sent/")
    # The account is made from the e-mail's link (accounts/signup.py).
    page.goto(base + re.search(r"/accounts/signup/confirm/\S+/", mail.outbox[-1].body).group(0))
    page.click("#signup-confirm-form button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert "dora" in page.content()

    page.click("text=Log out")
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "dora")
    page.fill("#id_password", "a-very-long-pass-77")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/accounts/keys/")
    page.fill("#id_name", "browser test")
    page.check("input[name=permissions][value='account:read']")
    page.click("#apikey-form button[type=submit]")
    secret = page.inner_text("#new-key-secret").strip()
    assert secret.startswith("crd_")

    request = urllib.request.Request(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    assert body["username"] == "dora"
    assert body["time_zone"] == "Europe/Berlin"
    assert body["scopes"] == ["account:read"]

    # The key is listed without its secret afterwards.
    page.goto(f"{base}/accounts/keys/")
    assert "browser test" in page.content()
    assert secret not in page.content()
