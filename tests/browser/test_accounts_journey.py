"""The accounts area in headless Chromium, as a demanding person uses it: sign-up mistakes,
profile preferences (time zone, language), password change, the login rate limit, and the
API keys page (scopes, expiry, a secret shown once, revocation, a read-only viewer)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import formats, translation

from accounts.models import ApiKey, User
from tests.browser.conftest import BROWSER, choose_language

pytestmark = BROWSER

PASSWORD = "a-very-long-pass-77"
NEW_PASSWORD = "another-long-pass-88"


def field_errors(page, field: str) -> str:
    """The error text shown next to a field (Django puts the list right before the input's <p>)."""
    return page.locator(
        f"p:has(#id_{field}) >> xpath=preceding-sibling::ul[1][contains(@class,'errorlist')]"
    ).inner_text()


def confirm_path() -> str:
    """The path of the link in the last sign-up e-mail (the live server sends into Django's
    outbox; the link's host is SITE_URL's, not the live server's)."""
    return re.search(r"/accounts/signup/confirm/\S+/", mail.outbox[-1].body).group(0)


def submit(page, form_selector: str) -> None:
    with page.expect_navigation():
        page.click(f"{form_selector} button[type=submit]")


def api_me(base: str, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.django_db(transaction=True)
def test_signup_mistakes_preferences_password_and_login_limit(live_server, page, settings):
    # The limiter counts in fixed windows (time // window): a window this long cannot roll
    # over mid-test and forget the failures.
    settings.RATE_LIMIT_LOGIN = (3, 10**9)
    cache.clear()
    base = live_server.url
    User.objects.create_user(username="taken", email="taken@example.com", password="pw-taken-123!")

    page.goto(f"{base}/accounts/signup/")
    # 1. Passwords that differ, a taken username, a malformed e-mail. The taken name is not
    # named as such: sign-up never tells who has an account (accounts/signup.py).
    page.fill("#id_username", "taken")
    page.fill("#id_email", "not-an-email")
    page.select_option("#id_time_zone", "Asia/Tokyo")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD + "x")
    page.locator("#id_email").evaluate("el => el.type = 'text'")  # past the browser's own check
    submit(page, "#signup-form")
    assert not any("exists" in e or "taken" in e for e in page.locator(".errorlist").all_inner_texts())
    assert "valid email" in field_errors(page, "email").lower()
    assert "didn’t match" in field_errors(page, "password2")
    assert page.input_value("#id_username") == "taken"
    assert page.input_value("#id_email") == "not-an-email"
    assert page.input_value("#id_time_zone") == "Asia/Tokyo"
    assert page.input_value("#id_password1") == ""

    # 2. An e-mail already in use (any case, not said so), a short and common password.
    page.fill("#id_username", "dora")
    page.locator("#id_email").evaluate("el => el.type = 'text'")
    page.fill("#id_email", "TAKEN@example.com")
    page.fill("#id_password1", "qwerty")
    page.fill("#id_password2", "qwerty")
    submit(page, "#signup-form")
    assert not any("exists" in e for e in page.locator(".errorlist").all_inner_texts())
    password_errors = field_errors(page, "password2")
    assert "too short" in password_errors and "too common" in password_errors
    assert page.input_value("#id_username") == "dora"
    assert page.input_value("#id_time_zone") == "Asia/Tokyo"

    # 3. Success.
    page.fill("#id_email", "dora@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    submit(page, "#signup-form")
    assert page.url == f"{base}/accounts/signup/sent/"
    assert "Check your e-mail" in page.inner_text("h1")
    # 4. The e-mail's link: the name is kept, the account is made by the button.
    page.goto(f"{base}{confirm_path()}")
    assert page.input_value("#id_username") == "dora"
    submit(page, "#signup-confirm-form")
    assert page.url == f"{base}/"
    assert "Welcome to Cradle, dora." in page.inner_text(".flash")
    assert "All times are shown in Asia/Tokyo." in page.inner_text("footer")

    # Profile: a new time zone and Simplified Chinese; times and texts follow.
    page.click("header >> text=dora")
    page.select_option("#id_time_zone", "America/New_York")
    page.select_option("#id_language", "zh-hans")
    submit(page, "form.form")
    assert page.url == f"{base}/accounts/profile/"
    assert "个人资料" in page.inner_text("h1")
    assert page.input_value("#id_time_zone") == "America/New_York"
    assert page.input_value("#id_language") == "zh-hans"
    assert "America/New_York" in page.inner_text("footer")
    body = page.inner_text("main")
    for english in ("Time zone", "Language", "Profile", "Save", "Change your password"):
        assert english not in body, english
    # A time on a page: the key list shows when a key was created, in New York time.
    page.goto(f"{base}/accounts/keys/")
    page.fill("#id_name", "clock")
    page.check("input[name=permissions][value='account:read']")
    submit(page, "#apikey-form")
    created = ApiKey.objects.get(name="clock").created_at.astimezone(ZoneInfo("America/New_York"))
    row = page.locator("tr", has_text="clock").inner_text()
    assert f"{created:%H:%M}" in row, row

    # Back to English with the header switcher; the profile remembers the choice.
    choose_language(page, "en")
    assert page.inner_text("h1") == "API keys"

    # Change the password: a wrong old password is refused, then it works.
    page.goto(f"{base}/accounts/password/change/")
    page.fill("#id_old_password", "wrong-old-one")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    submit(page, "form.form")
    assert "incorrectly" in field_errors(page, "old_password")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    submit(page, "form.form")
    assert page.url == f"{base}/accounts/password/change/done/"
    assert "Password change successful" in page.inner_text("h1")

    # Log out, the old password no longer works, the new one does.
    with page.expect_navigation():
        page.click("text=Log out")
    assert page.locator("header >> text=Log in").is_visible()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "dora")
    page.fill("#id_password", PASSWORD)
    submit(page, "#login-form")
    assert "correct username and password" in page.inner_text("#login-form")
    assert page.input_value("#id_username") == "dora"
    page.fill("#id_password", NEW_PASSWORD)
    submit(page, "#login-form")
    assert page.url == f"{base}/"
    assert page.locator("header >> text=dora").is_visible()
    # Still in English, the language last chosen in the header (the log-in used to bring Chinese back).
    assert page.locator("header >> text=Log out").is_visible()
    assert User.objects.get(username="dora").language == "en"

    # The rate limit: after repeated wrong passwords even the right one is refused, clearly.
    with page.expect_navigation():
        page.click("text=Log out")
    page.goto(f"{base}/accounts/login/")
    for _attempt in range(3):
        page.fill("#id_username", "dora")
        page.fill("#id_password", "wrong-again")
        submit(page, "#login-form")
    page.fill("#id_password", NEW_PASSWORD)
    submit(page, "#login-form")
    assert page.url.startswith(f"{base}/accounts/login/")
    assert "Too many failed attempts. Please wait a few minutes and try again." in page.inner_text("#login-form")


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    submit(page, "#login-form")
    assert page.url == f"{base}/"


@pytest.mark.django_db(transaction=True)
def test_api_keys_scopes_expiry_secret_once_revoke_viewer_and_chinese(live_server, page):
    base = live_server.url
    User.objects.create_user(username="erin", email="erin@example.com", password=PASSWORD, time_zone="Asia/Kolkata")
    log_in(page, base, "erin", PASSWORD)
    page.click("header >> text=API keys")
    assert page.inner_text("tbody").startswith("No keys yet.")

    # An expiry in the past is refused next to its field; the rest of the form is kept.
    page.fill("#id_name", "deploy bot")
    page.check("input[name=permissions][value='messages:read']")
    page.check("input[name=permissions][value='messages:write']")
    page.fill("#id_expires_at", "2001-02-03 04:05")
    submit(page, "#apikey-form")
    assert "The expiry must be in the future." in field_errors(page, "expires_at")
    assert page.input_value("#id_name") == "deploy bot"
    assert page.is_checked("input[name=permissions][value='messages:write']")
    assert not ApiKey.objects.exists()

    # A future expiry, typed in the user's time zone (Kolkata), kept as that moment.
    expiry = (datetime.now(ZoneInfo("Asia/Kolkata")) + timedelta(days=30)).replace(second=0, microsecond=0)
    page.fill("#id_expires_at", f"{expiry:%Y-%m-%d %H:%M}")
    submit(page, "#apikey-form")
    deploy_secret = page.inner_text("#new-key-secret").strip()
    assert deploy_secret.startswith("crd_")
    deploy = ApiKey.objects.get(name="deploy bot")
    assert deploy.expires_at == expiry
    assert deploy.permissions == ["messages:read", "messages:write"]
    # The form is empty again for the next key.
    assert page.input_value("#id_name") == ""

    # A second key, read-only on the account, without expiry.
    page.fill("#id_name", "dashboard")
    page.check("input[name=permissions][value='account:read']")
    submit(page, "#apikey-form")
    dashboard_secret = page.inner_text("#new-key-secret").strip()
    assert dashboard_secret != deploy_secret
    assert deploy_secret not in page.content()

    status, body = api_me(base, dashboard_secret)
    assert status == 200 and body["username"] == "erin" and body["scopes"] == ["account:read"]
    # The deploy key lacks account:read: refused with a reason.
    status, body = api_me(base, deploy_secret)
    assert status == 403, body

    # The list: prefix, scopes, last used, expiry; the secrets never again.
    page.goto(f"{base}/accounts/keys/")
    content = page.content()
    assert deploy_secret not in content and dashboard_secret not in content
    assert page.locator("#new-key").count() == 0
    dashboard_row = page.locator("tbody tr", has_text="dashboard").inner_text()
    deploy_row = page.locator("tbody tr", has_text="deploy bot").inner_text()
    assert f"crd_{dashboard_secret.split('_')[1]}_…" in dashboard_row
    # The scopes in words, not their codes.
    assert "Read your profile" in dashboard_row and "account:read" not in dashboard_row
    assert "Read messages, recipients and status logs" in deploy_row
    assert "Create, change, reset, continue and revoke messages" in deploy_row and "messages:write" not in deploy_row
    last_used = ApiKey.objects.get(name="dashboard").last_used.astimezone(ZoneInfo("Asia/Kolkata"))
    with translation.override("en"):  # as the template formats it ("7 p.m." on the hour, "7:05 p.m." else)
        assert formats.date_format(last_used, "SHORT_DATETIME_FORMAT") in dashboard_row, dashboard_row
    assert f"{expiry:%Y}" in deploy_row or f"{expiry:%-d}" in deploy_row, deploy_row
    assert "active" in dashboard_row

    # Revoke the dashboard key: it stops working at once.
    with page.expect_navigation():
        page.locator("tbody tr", has_text="dashboard").locator("button", has_text="Revoke").click()
    assert "The key “dashboard” has been revoked." in page.inner_text(".flash")
    dashboard_row = page.locator("tbody tr", has_text="dashboard").inner_text()
    assert "revoked" in dashboard_row
    assert page.locator("tbody tr", has_text="dashboard").locator("button").count() == 0
    status, body = api_me(base, dashboard_secret)
    assert status == 401 and "revoked" in json.dumps(body)

    # The same page in Simplified Chinese.
    choose_language(page, "zh-hans")
    assert page.inner_text("h1") == "API 密钥"
    main = page.inner_text("main")
    for english in ("Name", "Scopes", "Created", "Last used", "Expires", "State", "Revoke", "Create", "active"):
        assert english not in main.replace("deploy bot", "").replace("dashboard", ""), english

    # A viewer (read only) is offered read scopes only, and told why.
    with page.expect_navigation():
        page.click("header button:has-text('退出')")
    choose_language(page, "en")
    User.objects.create_user(username="vera", email="vera@example.com", password=PASSWORD, role=User.Role.VIEWER)
    log_in(page, base, "vera", PASSWORD)
    page.goto(f"{base}/accounts/keys/")
    offered = page.locator("input[name=permissions]").evaluate_all("els => els.map(e => e.value)")
    assert "messages:read" in offered and "account:read" in offered
    assert not {"messages:write", "publishing:write", "tasks:create"} & set(offered)
    assert "Your account is read only, so its keys can only read." in page.inner_text("#apikey-form")
    page.fill("#id_name", "reader")
    page.check("input[name=permissions][value='account:read']")
    submit(page, "#apikey-form")
    status, body = api_me(base, page.inner_text("#new-key-secret").strip())
    assert status == 200 and body["role"] == "viewer"
