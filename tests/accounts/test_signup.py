"""Sign-up tells a visitor nothing about who is registered (accounts/signup.py).

Every valid sign-up answers the same bytes (a redirect to "check your e-mail", then that
page) whether the address or the name has an account; what differs goes to the address:
a confirm link for a new address, a "you already have an account" notice for a known one.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.signup import PendingSignup, signup_token

PASSWORD = "a-long-pass-phrase-9"
LINK = re.compile(r"https?://\S+/accounts/signup/confirm/[^/\s]+/")


def _form(**extra) -> dict:
    return {
        "username": "carol",
        "email": "carol@example.com",
        "time_zone": "Asia/Shanghai",
        "language": "zh-hans",
        "password1": PASSWORD,
        "password2": PASSWORD,
    } | extra


def _without_csrf(body: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)


def _answer(**fields) -> tuple:
    """What a fresh visitor sees: the POST's answer and the page it leads to."""
    client = Client()
    posted = client.post(reverse("accounts:signup"), _form(**fields))
    landed = client.get(posted["Location"]) if posted.status_code == 302 else None
    headers = {k: v for k, v in posted.items() if k.lower() not in ("set-cookie", "content-security-policy")}
    return (
        posted.status_code,
        headers,
        posted.content,
        landed and landed.status_code,
        landed and _without_csrf(landed.content),
    )


@pytest.fixture
def dave(db) -> User:
    return User.objects.create_user(username="dave", email="dave@example.com", password="pw-dave-123!", language="en")


def test_it_answers_the_same_bytes_for_new_and_existing_addresses_and_names(dave):
    new = _answer(username="carol", email="carol@example.com")
    cases = {
        "existing address": _answer(username="carol2", email="dave@example.com"),
        "existing address, other case": _answer(username="carol3", email="DAVE@Example.com"),
        "existing name": _answer(username="dave", email="erin@example.com"),
        "a name that reads as an existing one": _answer(username="ＤＡＶＥ", email="fay@example.com"),
        "both existing": _answer(username="dave", email="dave@example.com"),
    }
    assert new[0] == 302 and new[1]["Location"] == reverse("accounts:signup_sent")
    assert b"Check your e-mail" in new[4]
    for case, answer in cases.items():
        assert answer == new, case
    assert User.objects.count() == 1  # nothing is made before the address confirms


def test_a_known_address_gets_a_notice_and_no_account(client, dave):
    client.post(reverse("accounts:signup"), _form(username="mallory", email="Dave@example.com"))
    assert [m.to for m in mail.outbox] == [["dave@example.com"]]
    notice = mail.outbox[0]
    assert notice.subject == "Someone tried to sign up with your address"
    assert "/accounts/login/" in notice.body and "/accounts/password/reset/" in notice.body
    assert not LINK.search(notice.body)
    assert not User.objects.filter(username="mallory").exists()


def test_a_new_address_confirms_by_the_link_and_gets_its_account(client, db):
    client.post(reverse("accounts:signup"), _form())
    assert User.objects.count() == 0
    (confirm,) = mail.outbox
    assert confirm.to == ["carol@example.com"] and confirm.subject == "确认您的 Cradle 账户"  # in the language chosen
    link = LINK.search(confirm.body).group(0)
    page = client.get(link)
    assert page.status_code == 200 and 'value="carol"' in page.content.decode()
    assert User.objects.count() == 0, "opening the link changes nothing: the POST does"
    response = client.post(link, {"username": "carol"}, follow=True)
    user = User.objects.get(username="carol")
    assert (user.email, user.time_zone, user.language, user.role) == (
        "carol@example.com",
        "Asia/Shanghai",
        "zh-hans",
        "editor",
    )
    assert user.check_password(PASSWORD)
    assert response.context["user"] == user
    assert "欢迎来到 Cradle，carol。" in response.content.decode()


def test_a_taken_name_is_chosen_again_on_the_link_page(client, dave):
    client.post(reverse("accounts:signup"), _form(username="ｄａｖｅ", email="erin@example.com", language="en"))
    link = LINK.search(mail.outbox[0].body).group(0)
    page = client.get(link)
    assert page.status_code == 200
    again = client.post(link, {"username": "dave"})
    assert again.status_code == 200 and "This name is taken" in again.content.decode()
    assert client.post(link, {"username": "erin"}).status_code == 302
    assert User.objects.get(username="erin").email == "erin@example.com"


def test_a_link_works_once(client, db):
    client.post(reverse("accounts:signup"), _form(language="en"))
    link = LINK.search(mail.outbox[0].body).group(0)
    assert client.post(link, {"username": "carol"}).status_code == 302
    other = Client()
    used = other.post(link, {"username": "carol-again"})
    assert used.status_code == 200 and "This link has been used" in used.content.decode()
    assert User.objects.count() == 1


def test_a_forged_or_old_link_is_refused(client, db, settings):
    forged = client.get(reverse("accounts:signup_confirm", args=["gAAAAABnot-a-real-token"]))
    assert forged.status_code == 400 and "invalid or has expired" in forged.content.decode()
    token = signup_token(PendingSignup("old@example.com", "old", "!", "UTC", "en"))
    late = timezone.now() + timedelta(hours=settings.SIGNUP_LINK_MAX_AGE_HOURS, minutes=1)
    with time_machine.travel(late, tick=False):
        assert client.post(reverse("accounts:signup_confirm", args=[token]), {"username": "old"}).status_code == 400
    assert User.objects.count() == 0


def test_the_link_does_not_show_the_password_hash(client, db):
    client.post(reverse("accounts:signup"), _form())
    body = mail.outbox[0].body
    assert "md5$" not in body and "pbkdf2" not in body and PASSWORD not in body


def test_bad_input_is_shown_but_never_whether_an_address_or_name_exists(client, dave):
    response = client.post(
        reverse("accounts:signup"),
        {"username": "", "email": "DAVE@example.com", "password1": "x", "password2": "y", "time_zone": "Mars/Base"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"username", "password2", "time_zone"} <= set(errors)
    assert "email" not in errors
    taken = client.post(reverse("accounts:signup"), _form(username="dave", email="dave@example.com", password1="x"))
    assert "taken" not in taken.content.decode() and "already exists" not in taken.content.decode()
    assert mail.outbox == []


def test_e_mails_to_one_address_are_limited_the_same_whether_it_has_an_account(dave, settings):
    settings.RATE_LIMIT_SIGNUP_EMAIL = (2, 3600)
    for email in ("dave@example.com", "new@example.com"):
        codes = [
            Client(REMOTE_ADDR=f"198.51.100.{i}").post(reverse("accounts:signup"), _form(email=email)).status_code
            for i in range(4)
        ]
        assert codes == [302, 302, 429, 429], email
    assert len(mail.outbox) == 4
