""" "I'm still here": one answer resets every message of the owner still on its ladder."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from accounts.models import User
from messaging import services
from messaging.models import Message, StatusLog
from tests.clock import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def messages(owner, other_user, make_message):
    with time_machine.travel(NOW, tick=False):
        waiting = make_message(owner)
        warned = make_message(owner)
        revoked = make_message(owner)
        theirs = make_message(other_user)
    Message.objects.filter(pk__in=[warned.pk, theirs.pk]).update(warning_level=3)
    services.message_revoke(message=revoked)
    return {"waiting": waiting, "warned": warned, "revoked": revoked, "theirs": theirs}


def _levels(messages) -> dict[str, tuple[int, str]]:
    return {name: Message.objects.values_list("warning_level", "state").get(pk=m.pk) for name, m in messages.items()}


def _resets(message) -> int:
    return StatusLog.objects.filter(message=message, status="WARNING_RESET", response="RESET").count()


def test_the_page_asks_first_then_resets_only_the_owners_waiting_messages(client, owner, messages):
    client.force_login(owner)
    page = client.get(reverse("messaging:reset_all"))
    assert page.status_code == 200 and page.context["count"] == 2
    assert _levels(messages)["warned"] == (3, "active"), "a GET changes nothing"

    response = client.post(reverse("messaging:reset_all"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("messaging:message_list")
    assert "2 messages start their cycles again" in response.content.decode()
    assert _levels(messages) == {
        "waiting": (0, "active"),
        "warned": (0, "active"),
        "revoked": (0, "revoked"),
        "theirs": (3, "active"),
    }
    assert [_resets(messages[name]) for name in ("waiting", "warned", "revoked", "theirs")] == [1, 1, 0, 0]
    warned = Message.objects.get(pk=messages["warned"].pk)
    assert warned.next_warning_date > warned.cycle_started_at


def test_a_viewer_cannot_reset(client, owner, messages):
    owner.role = User.Role.VIEWER
    owner.save()
    client.force_login(owner)
    assert client.post(reverse("messaging:reset_all")).status_code == 403
    assert _levels(messages)["warned"] == (3, "active")


def test_the_api_resets_with_the_write_scope_only(api_client_for, owner, messages):
    url = "/api/v1/messages/reset-all/"
    assert api_client_for(owner, ["messages:read"]).post(url).status_code == 403
    response = api_client_for(owner, ["messages:write"]).post(url)
    assert response.status_code == 200 and response.json() == {"reset": 2}
    assert _levels(messages)["theirs"] == (3, "active")


def test_the_page_speaks_simplified_chinese(client, owner, messages):
    owner.language = "zh-hans"
    owner.save()
    client.force_login(owner)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("messaging:reset_all")).content.decode()
    assert "全部 2 条留言" in page and "全部重置" in page
    done = client.post(reverse("messaging:reset_all"), follow=True).content.decode()
    assert "2 条留言重新开始周期" in done


def test_the_api_answers_with_and_without_a_trailing_slash_and_refuses_a_malformed_body(
    api_client_for, owner, messages
):
    api = api_client_for(owner, ["messages:write", "messages:read"])
    bad = api.post("/api/v1/messages/reset-all", "{bad", content_type="application/json")
    assert bad.status_code == 400 and _levels(messages)["warned"] == (3, "active")
    assert api.post("/api/v1/messages/reset-all").json() == {"reset": 2}
    assert api.get("/api/v1/messages").status_code == api.get("/api/v1/messages/").status_code == 200
