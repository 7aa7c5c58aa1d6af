from django.core import mail
from django.urls import reverse

from accounts.models import User


def test_signup_logs_in_and_keeps_preferences(client, db):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "time_zone": "Asia/Shanghai",
            "language": "zh-hans",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="carol")
    assert user.time_zone == "Asia/Shanghai" and user.language == "zh-hans" and user.role == "editor"
    home = client.get(reverse("home"))
    assert home.context["user"] == user
    # The page is rendered in the user's language.
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "个人资料" in page and "API 密钥" in page


def test_signup_shows_errors_for_bad_input(client, owner):
    response = client.post(
        reverse("accounts:signup"),
        {"username": "", "email": "ALICE@example.com", "password1": "x", "password2": "y", "time_zone": "Mars/Base"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"username", "email", "password2", "time_zone"} <= set(errors)
    assert User.objects.count() == 1


def test_login_is_throttled_after_repeated_failures(client, owner, settings):
    settings.RATE_LIMIT_LOGIN = (3, 300)
    url = reverse("accounts:login")
    for _ in range(3):
        assert client.post(url, {"username": "alice", "password": "wrong"}).status_code == 200
    blocked = client.post(url, {"username": "alice", "password": "pw-alice-123!"})
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_works(client, owner):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_password_reset_sends_an_email_with_a_working_link(client, owner):
    client.post(reverse("accounts:password_reset"), {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/accounts/password/reset/" in line)
    path = link.split("testserver", 1)[1]
    response = client.get(path, follow=True)
    assert response.status_code == 200
    set_url = response.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("brand-new-pass-77")


def test_profile_changes_time_zone_and_language(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("accounts:profile"), {"email": "alice@example.com", "time_zone": "Europe/Paris", "language": "en"}
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.time_zone == "Europe/Paris"
    assert "Europe/Paris" in client.get(reverse("home")).content.decode()


def test_password_change(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "pw-alice-123!", "new_password1": "another-pass-88", "new_password2": "another-pass-88"},
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("another-pass-88")
