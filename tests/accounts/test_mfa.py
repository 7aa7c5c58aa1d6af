"""Two-factor: the back office needs it, TOTP codes, recovery codes, the two-step log-in, the pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.mfa_models import RecoveryCode
from accounts.models import User
from tests.clock import NOW
from tests.conftest import give_totp, log_in_two_steps, totp_code

pytestmark = pytest.mark.django_db

STAFF_PASSWORD = "pw-staff-123!"


@pytest.fixture
def bare_staff(db) -> User:
    """A superuser with no second factor."""
    return User.objects.create_superuser(username="boss", email="boss@example.com", password="pw-boss-123!")


def _admin_urls() -> list[str]:
    """Every URL of the admin site, each pattern filled with a plausible argument."""
    ct = ContentType.objects.get_for_model(User)
    values = {"object_id": "1", "app_label": "accounts", "content_type_id": str(ct.pk), "pk": "1", "url": "x/"}
    urls: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                route = re.sub(r"\(\?P<app_label>[^)]*\)", "accounts", route)
                route = re.sub(r"\(\?P<url>\.\*\)", "no/such/page/", route)  # the catch-all
                route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), route)
                urls.append("/admin/" + route.lstrip("^").rstrip("$"))

    walk(admin.site.get_urls(), "")
    return sorted({url for url in urls if "(?P" not in url})


def test_it_keeps_staff_without_a_second_factor_out_of_every_admin_page(client, bare_staff):
    client.force_login(bare_staff)
    urls = _admin_urls()
    assert len(urls) > 50
    assert {"/admin/", "/admin/accounts/", "/admin/messaging/message/", "/admin/password_change/"} <= set(urls)
    reached = []
    for url in urls:
        response = client.get(url, follow=True)
        if response.request["PATH_INFO"].startswith("/admin/") and response.status_code == 200:
            reached.append(url)
        else:
            assert response.request["PATH_INFO"] == reverse("accounts:two_factor"), url
    assert reached == []
    page = client.get("/admin/", follow=True)
    assert "The back office needs a second factor" in page.content.decode()


def test_it_opens_the_admin_to_staff_who_passed_a_second_factor(client, staff):
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/messaging/message/").status_code == 200


def test_it_keeps_out_staff_whose_session_never_passed_the_factor(client, bare_staff):
    client.force_login(bare_staff)  # logged in before the factor existed
    device = give_totp(bare_staff)  # added elsewhere, in another session
    response = client.get("/admin/", follow=True)
    assert response.request["PATH_INFO"] == reverse("accounts:reauth")
    assert "password" not in response.context["password_form"].data  # factor only
    # The factor, on the re-authentication page, opens it.
    back = client.post(
        reverse("accounts:reauth"), {"method": "totp", "code": totp_code(device), "next": "/admin/", "factor": "1"}
    )
    assert back.status_code == 302 and back["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_password_alone_does_not_open_the_admin_for_factor_only_reauth(client, bare_staff):
    client.force_login(bare_staff)
    give_totp(bare_staff)
    client.post(
        reverse("accounts:reauth"), {"method": "password", "password": "pw-boss-123!", "next": "/admin/", "factor": "1"}
    )
    assert client.get("/admin/", follow=True).request["PATH_INFO"] == reverse("accounts:reauth")


def test_the_admin_log_in_asks_for_the_second_step(client, staff):
    first = client.post(reverse("admin:login"), {"username": "staff", "password": STAFF_PASSWORD, "next": "/admin/"})
    assert first.status_code == 302 and first["Location"] == reverse("accounts:login_verify")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    second = client.post(
        reverse("accounts:login_verify"), {"method": "totp", "code": totp_code(staff.totpdevice_set.get())}
    )
    assert second["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- TOTP --------------------------------------------------------------------------------


@pytest.fixture
def device(owner) -> TOTPDevice:
    return give_totp(owner)


def test_a_wrong_totp_code_fails(owner, device):
    with time_machine.travel(NOW, tick=False):
        right = totp_code(device)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        assert not mfa.totp_verify(user=owner, code=wrong)
        assert mfa.totp_verify(user=owner, code=right)


def test_a_replayed_totp_code_fails(owner, device):
    with time_machine.travel(NOW, tick=False) as clock:
        code = totp_code(device)
        assert mfa.totp_verify(user=owner, code=code)
        assert not mfa.totp_verify(user=owner, code=code)
        clock.shift(timedelta(seconds=20))  # still inside the accepted window of steps
        assert not mfa.totp_verify(user=owner, code=code)
        # An earlier step's code after a later one was used is a replay too.
        earlier = totp_code(device, steps=-1)
        assert not mfa.totp_verify(user=owner, code=earlier)


@pytest.mark.parametrize("steps", [-1, 1])
def test_a_code_one_step_off_is_accepted(owner, device, steps):
    with time_machine.travel(NOW, tick=False):
        assert mfa.totp_verify(user=owner, code=totp_code(device, steps=steps))


@pytest.mark.parametrize("steps", [-3, 3])
def test_a_code_further_off_is_refused(owner, device, steps):
    with time_machine.travel(NOW, tick=False):
        assert not mfa.totp_verify(user=owner, code=totp_code(device, steps=steps))


def test_an_unconfirmed_device_is_no_factor(owner):
    pending = mfa.totp_pending_device(owner)
    assert not mfa.user_has_second_factor(owner)
    with time_machine.travel(NOW, tick=False):
        assert not mfa.totp_verify(user=owner, code=totp_code(pending))


# --- recovery codes ----------------------------------------------------------------------


def test_a_recovery_code_works_once(owner, device):
    codes = mfa.recovery_codes_generate(user=owner)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(user=owner).values_list("code_hash", flat=True))
    assert not stored & set(codes)  # only hashes are kept
    assert mfa.recovery_code_use(user=owner, code=codes[3].upper())  # case and dashes do not matter
    assert not mfa.recovery_code_use(user=owner, code=codes[3])
    assert mfa.recovery_codes_left(owner) == 9


def test_new_recovery_codes_replace_the_old_ones(owner, device):
    old = mfa.recovery_codes_generate(user=owner)
    mfa.recovery_codes_generate(user=owner)
    assert not mfa.recovery_code_use(user=owner, code=old[0])


def test_a_recovery_code_logs_in_once_through_the_second_step(client, owner, device):
    codes = mfa.recovery_codes_generate(user=owner)
    for expected in ("in", "out"):
        client.logout()
        client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
        response = client.post(reverse("accounts:login_verify"), {"method": "recovery", "recovery_code": codes[0]})
        logged_in = "_auth_user_id" in client.session
        assert logged_in == (expected == "in"), response


# --- the two-step log-in -----------------------------------------------------------------


def test_the_password_step_logs_nobody_in_for_an_account_with_a_factor(client, owner, device):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login_verify")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("messaging:message_list")).status_code == 302  # to the log-in
    page = client.get(reverse("accounts:login_verify"))
    assert page.status_code == 200 and 'name="code"' in page.content.decode()


def test_the_second_step_logs_in_and_goes_where_the_log_in_was_going(client, owner, device):
    with time_machine.travel(NOW, tick=False):
        client.post(reverse("accounts:login") + "?next=/messages/", {"username": "alice", "password": "pw-alice-123!"})
        response = client.post(reverse("accounts:login_verify"), {"method": "totp", "code": totp_code(device)})
        assert response.status_code == 302 and response["Location"] == "/messages/"
        assert client.session["_auth_user_id"] == str(owner.pk)
        assert client.get(reverse("messaging:message_list")).status_code == 200


def test_a_wrong_second_step_code_logs_nobody_in(client, owner, device):
    with time_machine.travel(NOW, tick=False):
        client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
        wrong = f"{(int(totp_code(device)) + 5) % 1_000_000:06d}"
        response = client.post(reverse("accounts:login_verify"), {"method": "totp", "code": wrong})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "This code is not right" in response.content.decode()


def test_the_pending_log_in_expires_after_five_minutes(client, owner, device):
    with time_machine.travel(NOW, tick=False) as clock:
        client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
        clock.shift(timedelta(seconds=301))
        response = client.post(reverse("accounts:login_verify"), {"method": "totp", "code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_second_step_attempts_are_limited(client, owner, device, settings):
    settings.RATE_LIMIT_MFA_ACCOUNT = (3, 900)
    with time_machine.travel(NOW, tick=False):
        client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
        wrong = f"{(int(totp_code(device)) + 5) % 1_000_000:06d}"
        codes = [
            client.post(reverse("accounts:login_verify"), {"method": "totp", "code": wrong}).status_code
            for _ in range(3)
        ]
        blocked = client.post(reverse("accounts:login_verify"), {"method": "totp", "code": totp_code(device)})
    assert codes == [200, 200, 200]
    assert blocked.status_code == 429 and "Retry-After" in blocked
    assert "_auth_user_id" not in client.session


def test_an_account_without_a_factor_logs_in_with_the_password(client, owner):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(owner.pk)


def test_the_helper_logs_in_through_both_steps(client, owner, device):
    with time_machine.travel(NOW, tick=False):
        response = log_in_two_steps(client, "alice", "pw-alice-123!", device)
        assert response.status_code == 302 and client.session["_auth_user_id"] == str(owner.pk)


# --- the pages ---------------------------------------------------------------------------


def test_setting_up_an_app_shows_a_qr_code_then_ten_recovery_codes(client, owner):
    client.force_login(owner)
    page = client.get(reverse("accounts:totp_add"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    with time_machine.travel(NOW, tick=False):
        done = client.post(reverse("accounts:totp_add"), {"code": totp_code(device)})
        assert client.session[mfa.SESSION_VERIFIED] is True
    assert done.status_code == 200 and done["Cache-Control"] == "no-store"
    assert len(done.context["codes"]) == 10
    assert mfa.user_has_second_factor(owner) and mfa.recovery_codes_left(owner) == 10


def test_a_wrong_setup_code_leaves_the_app_unconfirmed(client, owner):
    client.force_login(owner)
    client.get(reverse("accounts:totp_add"))
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    with time_machine.travel(NOW, tick=False):
        wrong = f"{(int(totp_code(device)) + 7) % 1_000_000:06d}"
        response = client.post(reverse("accounts:totp_add"), {"code": wrong})
    assert response.status_code == 200 and not mfa.user_has_second_factor(owner)


def test_removing_the_last_factor_drops_the_recovery_codes(client, owner, device):
    mfa.recovery_codes_generate(user=owner)
    client.force_login(owner)
    response = client.post(reverse("accounts:factor_remove", args=["totp", device.pk]))
    assert response.status_code == 302
    assert not mfa.user_has_second_factor(owner) and RecoveryCode.objects.filter(user=owner).count() == 0


def test_one_cannot_remove_another_users_factor(client, owner, other_user):
    theirs = give_totp(other_user)
    client.force_login(owner)
    client.post(reverse("accounts:factor_remove", args=["totp", theirs.pk]))
    assert TOTPDevice.objects.filter(pk=theirs.pk).exists()


def _message(owner):
    from messaging import services

    recipients = [{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}]
    return services.message_create(owner=owner, content="plan", initial_delay_months=1, recipients=recipients)[0]


def test_the_message_pages_suggest_two_factor_only_when_it_is_off(client, owner):
    message = _message(owner)
    client.force_login(owner)
    for url in (reverse("messaging:message_list"), reverse("messaging:message_detail", args=[message.pk])):
        assert 'id="two-factor-suggestion"' in client.get(url).content.decode()
    give_totp(owner)
    client.force_login(owner)
    for url in (reverse("messaging:message_list"), reverse("messaging:message_detail", args=[message.pk])):
        assert 'id="two-factor-suggestion"' not in client.get(url).content.decode()


def test_the_two_factor_page_is_in_chinese(client, owner):
    owner.language = "zh-hans"
    owner.save()
    client.force_login(owner)
    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert "双重验证" in page and "Two-factor authentication is off" not in page


def test_two_factor_changes_are_security_events(client, owner):
    from ops.audit_models import AuditEvent

    Kind = AuditEvent.EventType
    client.force_login(owner)
    client.get(reverse("accounts:totp_add"))
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    with time_machine.travel(NOW, tick=False):
        client.post(reverse("accounts:totp_add"), {"code": totp_code(device)})
        client.post(reverse("accounts:recovery_regenerate"))
        client.post(reverse("accounts:factor_remove", args=["totp", device.pk]))
    kinds = list(AuditEvent.objects.filter(user=owner).order_by("id").values_list("event_type", flat=True))
    # One event per operation: turned on (with its recovery codes), new codes, turned off.
    assert kinds[-3:] == [Kind.MFA_ENABLED, Kind.MFA_RECOVERY_CODES, Kind.MFA_DISABLED]
    assert not any("code" in key for event in AuditEvent.objects.all() for key in (event.extra_data or {}))


def test_logging_in_with_a_recovery_code_is_a_security_event(client, owner, device):
    from ops.audit_models import AuditEvent

    [code, *_rest] = mfa.recovery_codes_generate(user=owner)
    first = client.post("/accounts/login/", {"username": owner.username, "password": "pw-alice-123!"})
    assert first.status_code == 302
    client.post("/accounts/login/verify/", {"method": "recovery", "recovery_code": code})
    event = AuditEvent.objects.filter(user=owner, event_type=AuditEvent.EventType.MFA_RECOVERY_CODE_USED).get()
    assert event.extra_data == {"left": 9}
