"""Security events: what is recorded (and from where, by whom), what never is (secrets), the
owner's Activity page (keyset pages, English and Chinese) and the read-only admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts.api_keys import apikey_create
from accounts.security_events import security_event_record
from messaging import services
from ops.audit_models import AppendOnlyError, AuditEvent
from ops.audit_views import ACTIVITY_PAGE_SIZE
from tests.clock import NOW

pytestmark = pytest.mark.django_db
Kind = AuditEvent.EventType


def _kinds(user) -> list[str]:
    return list(AuditEvent.objects.filter(user=user).order_by("id").values_list("event_type", flat=True))


def test_a_log_in_is_recorded_with_address_and_browser(owner):
    client = Client(HTTP_USER_AGENT="Firefox/" + "x" * 400, REMOTE_ADDR="203.0.113.7")
    client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
    event = AuditEvent.objects.get(user=owner, event_type=Kind.LOGIN)
    assert event.ip == "203.0.113.7" and event.actor_id == owner.pk
    assert event.actor_kind == AuditEvent.ActorKind.USER
    assert event.user_agent.startswith("Firefox/") and len(event.user_agent) == 300


def test_a_burst_of_wrong_passwords_is_recorded_once_per_filled_bucket(client, owner, settings):
    settings.RATE_LIMIT_LOGIN = (3, 900)
    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": "ALICE", "password": "wrong"})
    [event] = AuditEvent.objects.filter(user=owner, event_type=Kind.LOGIN_LOCKED)
    assert event.actor_kind == AuditEvent.ActorKind.ANONYMOUS
    assert event.extra_data == {"limits": ["login:address+account"]}


def test_wrong_passwords_below_the_limit_record_nothing(client, owner, settings):
    settings.RATE_LIMIT_LOGIN = (3, 900)
    for _ in range(2):
        client.post(reverse("accounts:login"), {"username": "alice", "password": "wrong"})
    assert not AuditEvent.objects.filter(event_type=Kind.LOGIN_LOCKED).exists()


def test_api_key_creation_and_revocation_are_recorded_without_the_secret(client, owner):
    client.force_login(owner)
    client.post(reverse("accounts:apikey_list"), {"name": "backup", "permissions": ["messages:read"]})
    event = AuditEvent.objects.get(user=owner, event_type=Kind.API_KEY_CREATED)
    key = owner.api_keys.get()
    assert event.object_type == "accounts.apikey" and event.object_id == str(key.pk)
    assert event.extra_data == {"name": "backup", "prefix": key.prefix, "scopes": ["messages:read"]}
    client.post(reverse("accounts:apikey_revoke", args=[key.pk]))
    client.post(reverse("accounts:apikey_revoke", args=[key.pk]))  # already revoked: no second event
    assert _kinds(owner).count(Kind.API_KEY_REVOKED) == 1


def test_staff_revoking_a_key_in_the_admin_is_recorded_as_staff(client, owner, staff):
    key = apikey_create(user=owner, name="k", permissions=["messages:read"]).api_key
    client.force_login(staff)
    client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk], "index": "0", "confirmed": "yes"},
    )
    event = AuditEvent.objects.get(user=owner, event_type=Kind.API_KEY_REVOKED)
    assert event.actor_id == staff.pk and event.actor_kind == AuditEvent.ActorKind.STAFF
    assert event.actor_label == "staff"


def test_staff_actions_on_a_users_messages_are_recorded(client, owner, staff):
    message, _key = services.message_create(
        owner=owner,
        content="plan",
        initial_delay_months=1,
        recipients=[{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}],
    )
    client.force_login(staff)
    client.post(
        reverse("admin:messaging_message_changelist"),
        {"action": "revoke_messages", "_selected_action": [message.pk], "index": "0", "confirmed": "yes"},
    )
    # One event for one operation: the service's, naming the staff member.
    [event] = AuditEvent.objects.filter(user=owner).exclude(event_type=Kind.MESSAGE_CREATED)
    assert event.event_type == Kind.MESSAGE_REVOKED and event.actor_kind == AuditEvent.ActorKind.STAFF
    assert event.object_type == "messaging.message" and event.object_id == str(message.pk)
    assert event.actor_id == staff.pk and event.actor_label == "staff"


def test_staff_editing_a_users_row_in_the_admin_is_recorded(client, owner, staff):
    key = apikey_create(user=owner, name="old name", permissions=["messages:read"]).api_key
    client.force_login(staff)
    change = reverse("admin:accounts_apikey_change", args=[key.pk])
    response = client.post(change, {"name": "new name", "permissions": '["messages:read"]', "expires_at": ""})
    assert response.status_code == 302, response.content[:1000]
    event = AuditEvent.objects.get(user=owner, event_type=Kind.STAFF_CHANGED_DATA)
    assert event.extra_data["action"] == "changed" and event.object_id == str(key.pk)


def test_the_record_function_drops_secret_looking_keys_and_bad_addresses(owner, rf):
    request = rf.get("/", REMOTE_ADDR="unknown")
    request.user = owner
    event = security_event_record(
        user=owner,
        kind=Kind.MFA_ENABLED,
        request=request,
        data={"method": "totp", "recovery_codes": ["1"], "secret": "s"},
    )
    assert event.extra_data == {"method": "totp"} and event.ip is None


def test_events_are_append_only(owner):
    event = security_event_record(user=owner, kind=Kind.LOGIN)
    event.kind = Kind.PASSWORD_CHANGED
    with pytest.raises(AppendOnlyError):
        event.save()


def test_the_activity_page_lists_mine_newest_first_in_keyset_pages(
    client, owner, other_user, django_assert_max_num_queries
):
    for index in range(ACTIVITY_PAGE_SIZE + 5):
        AuditEvent.objects.create(user=owner, event_type=Kind.LOGIN, created_at=NOW + timedelta(minutes=index))
    AuditEvent.objects.create(user=other_user, event_type=Kind.PASSWORD_CHANGED, created_at=NOW + timedelta(days=9))
    client.force_login(owner)
    with django_assert_max_num_queries(8):
        first = client.get(reverse("ops:activity"))
    rows = first.context["page"].rows
    assert len(rows) == ACTIVITY_PAGE_SIZE and all(e.user_id == owner.pk for e in rows)
    assert rows[0].created_at > rows[-1].created_at
    second = client.get(reverse("ops:activity"), {"after": first.context["page"].older})
    assert len(second.context["page"].rows) >= 5
    assert {e.pk for e in rows}.isdisjoint({e.pk for e in second.context["page"].rows})
    assert "<td>Password changed" not in first.content.decode()  # another user's event


def test_the_activity_page_is_in_chinese(client, owner):
    owner.language = "zh-hans"
    owner.save()
    security_event_record(user=owner, kind=Kind.PASSWORD_CHANGED)
    client.force_login(owner)
    page = client.get(reverse("ops:activity"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "活动记录" in page and "密码已更改" in page


def test_the_admin_is_read_only_and_searches_by_exact_email(client, owner, other_user, staff):
    security_event_record(user=owner, kind=Kind.LOGIN)
    security_event_record(user=other_user, kind=Kind.LOGIN)
    client.force_login(staff)
    changelist = reverse("admin:ops_auditevent_changelist")
    found = client.get(changelist, {"q": "alice@example.com"}).context["cl"].result_list
    assert [e.user_id for e in found] == [owner.pk]
    assert client.get(changelist, {"q": "alice@"}).context["cl"].result_list.count() == 0
    assert client.get(changelist, {"event_type__exact": Kind.LOGIN}).status_code == 200
    assert client.get(reverse("admin:ops_auditevent_add")).status_code == 403
    event = AuditEvent.objects.filter(user=owner).first()
    assert client.post(reverse("admin:ops_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
