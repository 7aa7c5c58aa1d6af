"""Log-in defences on one process: folded names, proxies, the known-device cookie, the admin's
log-in, password reset, sign-up and API keys all run through one limiter."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.login_guard import KNOWN_DEVICE_COOKIE
from accounts.models import User
from tests.conftest import totp_code

LOGIN = "/accounts/login/"


@pytest.fixture
def dave(db) -> User:
    return User.objects.create_user(username="dave", email="dave@example.com", password="pw-dave-123!")


@pytest.fixture
def behind_a_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = []


def _from(address: str, **cookies) -> Client:
    """A browser at ``address``, reaching the site through our one proxy (10.0.0.1)."""
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {address}")
    for name, value in cookies.items():
        client.cookies[name] = value
    return client


def _login(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def test_it_counts_every_spelling_of_a_name_in_one_bucket(client, dave, settings):
    settings.RATE_LIMIT_LOGIN = (3, 900)
    for spelling in ["dave", "ｄａｖｅ", "𝐝𝐚𝐯𝐞"]:
        assert _login(client, spelling, "wrong").status_code == 200
    blocked = _login(client, "DAVE", "pw-dave-123!")
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert "Too many failed attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_spelling_variant_logs_in_as_the_one_account_it_reads_as(client, dave):
    assert _login(client, "ｄａｖｅ", "pw-dave-123!").status_code == 302
    assert client.session["_auth_user_id"] == str(dave.pk)


def test_sign_up_refuses_a_name_that_reads_as_an_existing_one(client, dave):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "ＤＡＶＥ",
            "email": "other@example.com",
            "time_zone": "UTC",
            "language": "en",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    # The answer is the same as for a free name (tests/accounts/test_signup.py); the
    # address's confirm link is where the name is refused.
    assert response.status_code == 302
    link = re.search(r"http\S+/signup/confirm/\S+/", mail.outbox[-1].body).group(0)
    refused = client.post(link, {"username": "ＤＡＶＥ"})
    assert refused.status_code == 200 and "username" in refused.context["form"].errors
    assert User.objects.count() == 1


def test_a_right_password_gives_back_the_failures_of_its_address(client, dave, settings):
    settings.RATE_LIMIT_LOGIN = (3, 900)
    for _ in range(2):
        _login(client, "dave", "wrong")
    assert _login(client, "dave", "pw-dave-123!").status_code == 302
    client.logout()
    for _ in range(3):
        assert _login(client, "dave", "wrong").status_code == 200


def test_behind_the_proxy_one_address_failing_never_locks_out_another(dave, behind_a_proxy, settings):
    settings.RATE_LIMIT_LOGIN, settings.RATE_LIMIT_LOGIN_ADDRESS = (5, 900), (20, 900)
    attacker = _from("198.51.100.7")
    codes = [_login(attacker, name, "wrong").status_code for name in ["dave"] * 10 + [f"u{i}" for i in range(20)]]
    assert codes.count(200) == 20 and codes[5:10] == [429] * 5 and codes[-1] == 429
    assert _login(_from("203.0.113.9"), "dave", "pw-dave-123!").status_code == 302


def test_many_addresses_guessing_one_name_cannot_lock_out_the_owners_known_device(dave, behind_a_proxy, settings):
    settings.RATE_LIMIT_LOGIN, settings.RATE_LIMIT_LOGIN_ACCOUNT = (5, 900), (10, 900)
    owner = _from("203.0.113.9")
    assert _login(owner, "dave", "pw-dave-123!").status_code == 302
    cookie = owner.cookies[KNOWN_DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["max-age"] >= 300 * 86400
    for index in range(2):  # two places, five guesses each: the account's bucket is full
        for _ in range(5):
            assert _login(_from(f"198.51.100.{index}"), "dave", "wrong").status_code == 200
    stranger = _from("192.0.2.50")
    assert _login(stranger, "dave", "pw-dave-123!").status_code == 429
    # The owner, from a new address, with the cookie of the earlier log-in, gets through.
    returning = _from("192.0.2.51", **{KNOWN_DEVICE_COOKIE: cookie.value})
    assert _login(returning, "dave", "pw-dave-123!").status_code == 302
    # A forged or someone else's cookie is no key.
    forged = _from("192.0.2.52", **{KNOWN_DEVICE_COOKIE: cookie.value[:-2] + "xx"})
    assert _login(forged, "dave", "pw-dave-123!").status_code == 429


def test_the_admin_log_in_is_limited_and_shares_the_sites_buckets(client, staff, settings):
    settings.RATE_LIMIT_LOGIN = (3, 900)
    admin_login = reverse("admin:login")
    for _ in range(2):
        assert client.post(admin_login, {"username": "staff", "password": "wrong"}).status_code == 200
    assert _login(client, "staff", "wrong").status_code == 200
    blocked = client.post(admin_login, {"username": "staff", "password": "pw-staff-123!"})
    assert blocked.status_code == 429 and "Retry-After" in blocked
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302  # still outside


def test_the_admin_log_in_still_works(client, staff):
    response = client.post(reverse("admin:login"), {"username": "staff", "password": "pw-staff-123!"})
    # The password step leaves the known-device cookie; the second step logs in.
    assert response.status_code == 302 and "_auth_user_id" not in client.session
    assert KNOWN_DEVICE_COOKIE in response.cookies
    second = client.post(
        reverse("accounts:login_verify"), {"method": "totp", "code": totp_code(staff.totpdevice_set.get())}
    )
    assert second.status_code == 302 and second["Location"] == reverse("admin:index")
    assert client.session["_auth_user_id"] == str(staff.pk)
    assert client.get(reverse("admin:index")).status_code == 200


def test_fifteen_reset_requests_for_one_address_send_three_emails(owner, behind_a_proxy, settings):
    settings.RATE_LIMIT_PASSWORD_RESET_EMAIL = (3, 3600)
    url = reverse("accounts:password_reset")
    codes = [_from(f"198.51.100.{i}").post(url, {"email": "ALICE@example.com"}).status_code for i in range(15)]
    assert codes == [302] * 3 + [429] * 12
    assert len(mail.outbox) == 3


def test_reset_requests_from_one_address_are_limited_whatever_the_email(owner, settings):
    settings.RATE_LIMIT_PASSWORD_RESET_ADDRESS = (4, 3600)
    client = Client()
    url = reverse("accounts:password_reset")
    codes = [client.post(url, {"email": f"x{i}@example.com"}).status_code for i in range(6)]
    assert codes == [302] * 4 + [429] * 2


def test_sign_up_is_limited_per_address_with_a_translated_page(client, db, settings):
    settings.RATE_LIMIT_SIGNUP = (2, 3600)
    url = reverse("accounts:signup")
    codes = [client.post(url, {"username": ""}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    chinese = client.post(url, {"username": ""}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 429 and "尝试次数过多" in chinese.content.decode()


def test_wrong_api_keys_turn_into_429_with_retry_after(owner, api_client_for, settings):
    from rest_framework.test import APIClient

    settings.RATE_LIMIT_API_KEY_FAILURES = (5, 300)
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Bearer crd_abcdefgh_wrongwrongwrong")
    codes = [guesser.get("/api/v1/me").status_code for _ in range(7)]
    assert codes == [401] * 5 + [429] * 2
    last = guesser.get("/api/v1/me")
    assert last["Retry-After"] and last.json()["error"]["code"] == "throttled"
    # A right key from another address is unaffected.
    good = api_client_for(owner, ["account:read"])
    assert good.get("/api/v1/me", REMOTE_ADDR="203.0.113.9").json()["username"] == "alice"
    # The guesser's own address stays limited, even for a right key.
    assert good.get("/api/v1/me").status_code == 429
