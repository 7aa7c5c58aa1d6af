"""Language and time-zone preferences: labels, confirmations and the header's switcher."""

import re

from django.conf import settings
from django.core import mail
from django.urls import reverse

from accounts.models import User


def test_it_labels_the_preference_fields_in_the_users_language(client, owner):
    owner.language = "zh-hans"
    owner.save()
    client.force_login(owner)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "时区" in page and "语言" in page
    assert "Time zone" not in page


def test_it_confirms_a_saved_profile_in_the_newly_chosen_language(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("accounts:profile"),
        {"email": "alice@example.com", "time_zone": "UTC", "language": "zh-hans"},
        follow=True,
    )
    assert "您的个人资料已保存。" in response.content.decode()


def test_it_greets_a_new_user_in_the_language_they_chose(client, db):
    client.post(
        reverse("accounts:signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "time_zone": "UTC",
            "language": "zh-hans",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    link = re.search(r"http\S+/signup/confirm/\S+/", mail.outbox[-1].body).group(0)
    response = client.post(link, {"username": "carol"}, follow=True)
    assert "欢迎来到 Cradle，carol。" in response.content.decode()


def test_the_header_switcher_keeps_a_signed_in_persons_choice_after_the_next_login(client, owner):
    client.force_login(owner)
    response = client.post(reverse("accounts:language_set"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.language == "zh-hans"

    client.post(reverse("accounts:logout"))
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)
    client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
    assert "个人资料" in client.get(reverse("accounts:profile")).content.decode()


def test_the_header_switcher_works_for_visitors(client, db):
    response = client.post(reverse("accounts:language_set"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert not User.objects.exists()


def test_the_header_switcher_ignores_an_unknown_language(client, owner):
    client.force_login(owner)
    client.post(reverse("accounts:language_set"), {"language": "xx", "next": "/"})
    owner.refresh_from_db()
    assert owner.language == "en"
