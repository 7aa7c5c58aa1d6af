from django.core import mail
from django.urls import reverse

# Sign-up (what it answers, the confirm link, the preferences kept): tests/accounts/test_signup.py


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
