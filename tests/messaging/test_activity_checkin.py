"""Activity as a check-in (opt-in per message): a log-in or an owner's API call resets the messages that asked."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from cradle_site.errors import Busy
from messaging import services
from messaging.log_text import log_text
from messaging.models import Message, StatusLog
from tests.clock import NOW
from tests.messaging.page_forms import message_form

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(hours=2)  # past the default 60-minute throttle


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the resets the signals queue for after the request's commit (the test wraps all in one transaction)."""

    def capture():
        return django_capture_on_commit_callbacks(execute=True)

    return capture


@pytest.fixture
def made_at_now(make_message):
    def make(owner, **kw):
        with time_machine.travel(NOW, tick=False):
            return make_message(owner, **kw)

    return make


def _log_in(client, on_commit):
    with time_machine.travel(LATER, tick=False), on_commit():
        response = client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
    assert response.status_code == 302, response
    return response


def _resets(message) -> list[StatusLog]:
    return list(StatusLog.objects.filter(message=message, status=StatusLog.Status.WARNING_RESET))


def test_a_log_in_resets_the_messages_that_opted_in_only(client, owner, other_user, made_at_now, on_commit):
    opted = made_at_now(owner, level=2, activity_resets=True)
    not_opted = made_at_now(owner, level=2)
    theirs = made_at_now(other_user, level=2, activity_resets=True)
    _log_in(client, on_commit)
    levels = [Message.objects.get(pk=m.pk).warning_level for m in (opted, not_opted, theirs)]
    assert levels == [0, 2, 2]
    assert Message.objects.get(pk=opted.pk).cycle_started_at == LATER
    (row,) = _resets(opted)
    assert row.data["actor"] == {"kind": "log_in"} and "log-in" in row.details
    assert "log-in" in log_text(status=row.status, data=row.data, details=row.details)
    assert _resets(not_opted) == [] and _resets(theirs) == []


def test_a_second_log_in_within_the_throttle_writes_nothing(client, owner, made_at_now, on_commit):
    message = made_at_now(owner, level=1, activity_resets=True)
    _log_in(client, on_commit)
    client.logout()
    with time_machine.travel(LATER + timedelta(minutes=30), tick=False), on_commit():
        client.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"})
    assert len(_resets(message)) == 1


def test_a_warning_at_level_3_goes_back_to_0_and_its_queued_e_mail_is_dropped(client, owner, made_at_now, on_commit):
    message = made_at_now(owner, level=3, activity_resets=True)
    Message.objects.filter(pk=message.pk).update(warning_email_due_at=NOW, warning_email_attempts=1)
    _log_in(client, on_commit)
    after = Message.objects.get(pk=message.pk)
    assert (after.warning_level, after.warning_email_due_at, after.warning_email_attempts) == (0, None, 0)
    assert _resets(message)[0].data["from_level"] == 3


def test_a_busy_reset_does_not_break_the_log_in(client, owner, made_at_now, on_commit, monkeypatch):
    message = made_at_now(owner, level=2, activity_resets=True)

    def busy(**kwargs):
        raise Busy("a warning is being sent")

    monkeypatch.setattr(services, "message_reset", busy)
    response = _log_in(client, on_commit)
    assert response.wsgi_request.user == owner
    assert Message.objects.get(pk=message.pk).warning_level == 2


def test_revoked_and_delivered_messages_are_untouched(client, owner, made_at_now, on_commit):
    revoked = made_at_now(owner, activity_resets=True)
    delivered = made_at_now(owner, activity_resets=True)
    Message.objects.filter(pk=revoked.pk).update(state=Message.State.REVOKED, warning_level=2)
    Message.objects.filter(pk=delivered.pk).update(state=Message.State.DELIVERED, warning_level=5)
    _log_in(client, on_commit)
    assert [Message.objects.get(pk=m.pk).warning_level for m in (revoked, delivered)] == [2, 5]
    assert StatusLog.objects.filter(status=StatusLog.Status.WARNING_RESET).count() == 0


# The API --------------------------------------------------------------------------------------


def test_an_api_call_with_the_owners_key_resets(api_client_for, owner, made_at_now, on_commit):
    message = made_at_now(owner, level=2, activity_resets=True)
    api = api_client_for(owner, ["messages:read", "messages:write"])
    with time_machine.travel(LATER, tick=False), on_commit():
        assert api.get("/api/v1/messages/").status_code == 200
    (row,) = _resets(message)
    assert row.data["actor"] == {"kind": "api_call"} and "API call" in row.details
    assert Message.objects.get(pk=message.pk).warning_level == 0
    # Polling: the next calls within the throttle write nothing.
    with time_machine.travel(LATER + timedelta(minutes=5), tick=False), on_commit():
        for _ in range(3):
            api.get("/api/v1/messages/")
    assert len(_resets(message)) == 1


def test_a_read_only_key_a_viewer_or_another_users_key_resets_nothing(
    api_client_for, owner, other_user, made_at_now, on_commit
):
    message = made_at_now(owner, level=2, activity_resets=True)
    with time_machine.travel(LATER, tick=False), on_commit():
        assert api_client_for(owner, ["messages:read"]).get("/api/v1/messages/").status_code == 200
        assert (
            api_client_for(other_user, ["messages:read", "messages:write"]).get("/api/v1/messages/").status_code == 200
        )
    assert Message.objects.get(pk=message.pk).warning_level == 2
    checkin_key = api_client_for(owner, ["messages:checkin"])
    owner.role = "viewer"  # the account became read-only after the key was made
    owner.save()
    with time_machine.travel(LATER, tick=False), on_commit():
        checkin_key.get("/api/v1/messages/")
    assert Message.objects.get(pk=message.pk).warning_level == 2


def test_the_api_exposes_the_field(api_client_for, owner, made_at_now):
    message = made_at_now(owner)
    api = api_client_for(owner, ["messages:read", "messages:write"])
    url = f"/api/v1/messages/{message.pk}/"
    assert api.get(url).json()["activity_resets"] is False
    assert api.patch(url, {"activity_resets": True}, format="json").json()["activity_resets"] is True
    assert Message.objects.get(pk=message.pk).activity_resets is True
    bad = api.patch(url, {"activity_resets": "maybe"}, format="json")
    assert bad.status_code == 400 and "activity_resets" in bad.json()["error"]["fields"]
    # A PATCH that does not name it keeps it.
    api.patch(url, {"title": "t"}, format="json")
    assert Message.objects.get(pk=message.pk).activity_resets is True


# The form -------------------------------------------------------------------------------------


def test_the_form_shows_and_saves_the_field(client, owner, made_at_now):
    client.force_login(owner)
    page = client.get(reverse("messaging:message_create")).content.decode()
    assert 'name="activity_resets"' in page and "counts as a check-in" in page
    client.post(reverse("messaging:message_create"), message_form(activity_resets="on"))
    created = Message.objects.get(owner=owner)
    assert created.activity_resets is True
    edit = reverse("messaging:message_edit", args=[created.pk])
    assert "checked" in client.get(edit).content.decode().split('name="activity_resets"')[1].split(">")[0]
    # A recipient named anew: rows equal to their initial values count as unchanged (empty).
    assert client.post(edit, message_form(**{"recipients-0-name": "Sol"})).status_code == 302
    assert Message.objects.get(pk=created.pk).activity_resets is False


def test_the_history_says_which_activity_in_chinese(client, owner, made_at_now, on_commit):
    from django.utils import translation

    message = made_at_now(owner, level=1, activity_resets=True)
    _log_in(client, on_commit)
    (row,) = _resets(message)
    with translation.override("zh-hans"):
        text = log_text(status=row.status, data=row.data, details=row.details)
    assert "登录" in text and "报平安" in text
