"""The personal check-in URL: POST /ping/<token> (messaging.ping, messaging.ping_views) and POST /api/v1/checkin."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse

from messaging import ping, services
from messaging.models import Message, PingToken, StatusLog
from ops.audit_models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


@pytest.fixture
def secret(owner) -> str:
    return ping.ping_token_create(owner=owner).secret


def _url(secret: str, message_id: int | None = None) -> str:
    if message_id is None:
        return reverse("ping", args=[secret])
    return reverse("ping_message", args=[secret, message_id])


def test_it_resets_every_waiting_message_of_the_owner(client, owner, other_user, make_message, secret):
    waiting = [make_message(owner, level=2), make_message(owner)]
    revoked = make_message(owner, level=1)
    services.message_revoke(message=revoked)
    theirs = make_message(other_user, level=3)
    response = client.post(_url(secret))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "OK: 2 messages reset.\n"
    assert set(Message.objects.filter(warning_level=0, state="active").values_list("pk", flat=True)) == {
        m.pk for m in waiting
    }
    theirs.refresh_from_db()
    assert theirs.warning_level == 3
    resets = StatusLog.objects.filter(status="WARNING_RESET")
    assert resets.count() == 2 and all(log.data["actor"] == {"kind": "ping_url"} for log in resets)
    assert "check-in URL" in resets.first().display_text


def test_it_resets_one_message_by_path_or_query(client, owner, make_message, secret):
    first, second = make_message(owner, level=2), make_message(owner, level=2)
    assert client.post(_url(secret, first.pk)).status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.warning_level, second.warning_level) == (0, 2)
    response = client.post(_url(secret) + f"?message={second.pk}", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json() == {
        "status": "ok",
        "detail": "OK: 1 message reset.",
        "reset": 1,
    }
    second.refresh_from_db()
    assert second.warning_level == 0


def test_one_message_that_is_not_theirs_or_not_waiting_is_refused(client, owner, other_user, make_message, secret):
    theirs = make_message(other_user, level=2)
    assert client.post(_url(secret, theirs.pk)).status_code == 404
    mine = make_message(owner, level=1)
    services.message_revoke(message=mine)
    assert client.post(_url(secret, mine.pk)).status_code == 409
    assert client.post(_url(secret) + "?message=abc").status_code == 400
    theirs.refresh_from_db()
    assert theirs.warning_level == 2
    assert not StatusLog.objects.filter(status="WARNING_RESET").exists()


def test_get_explains_and_changes_nothing(client, owner, make_message, secret):
    message = make_message(owner, level=2)
    for method in (client.get, client.head, client.put):
        response = method(_url(secret))
        assert response.status_code == 405 and response["Allow"] == "POST"
    assert "POST" in client.get(_url(secret)).content.decode()
    message.refresh_from_db()
    assert message.warning_level == 2 and not StatusLog.objects.exists()


def test_a_wrong_or_rotated_token_is_refused(client, owner, make_message, secret):
    message = make_message(owner, level=2)
    assert client.post(_url("not-the-token")).status_code == 404
    new = ping.ping_token_create(owner=owner)
    assert client.post(_url(secret)).status_code == 404  # the old URL stopped working
    message.refresh_from_db()
    assert message.warning_level == 2
    assert client.post(_url(new.secret)).status_code == 200
    ping.ping_token_delete(owner=owner)
    assert client.post(_url(new.secret)).status_code == 404


def test_the_token_is_stored_only_as_a_hash(owner, secret):
    row = PingToken.objects.get(owner=owner)
    assert secret not in row.token_hash and row.token_hash == ping.token_hash(secret)


@pytest.mark.parametrize("junk", ["x" * 5000, "%00", "..", "null", "'; DROP TABLE x; --", "\u00e9\u00e8", "a b"])
def test_junk_never_500s(client, junk, secret):
    response = client.post(f"/ping/{junk}")
    assert response.status_code in (404, 400)
    assert client.post(f"/ping/{secret}/99999999999999999999").status_code in (404, 400)
    assert client.post(f"/ping/{secret}", data="{{{", content_type="application/json").status_code == 200


def test_wrong_tokens_are_rate_limited_per_address(client, settings, secret):
    settings.RATE_LIMIT_PING_FAILURES = (3, 300)
    for _ in range(3):
        assert client.post(_url("guess")).status_code == 404
    limited = client.post(_url(secret))  # even the right one: a guesser must not learn it was right
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0


def test_check_ins_are_rate_limited_per_owner(client, settings, owner, make_message, secret):
    settings.RATE_LIMIT_PING_OWNER = (2, 300)
    make_message(owner)
    assert [client.post(_url(secret)).status_code for _ in range(3)] == [200, 200, 429]
    assert StatusLog.objects.count() == 2


def test_a_viewer_account_changes_nothing(client, owner, make_message, secret):
    message = make_message(owner, level=2)
    owner.role = "viewer"
    owner.save()
    assert client.post(_url(secret)).status_code == 403
    message.refresh_from_db()
    assert message.warning_level == 2


def test_a_busy_database_says_try_again(client, owner, make_message, secret, monkeypatch):
    from cradle_site.errors import Busy

    make_message(owner, level=2)

    def busy(**kwargs):
        raise Busy("deadlock")

    monkeypatch.setattr(services, "messages_reset_all", busy)
    response = client.post(_url(secret))
    assert response.status_code == 503 and response["Retry-After"] and "try again" in response.content.decode()


def test_it_needs_no_csrf_token(owner, make_message, secret):
    from django.test import Client

    make_message(owner, level=1)
    assert Client(enforce_csrf_checks=True).post(_url(secret)).status_code == 200


# The API ---------------------------------------------------------------------------------------


def test_the_api_checks_in_with_the_checkin_scope_only(api_client_for, owner, make_message):
    first, second = make_message(owner, level=2), make_message(owner, level=1)
    api = api_client_for(owner, ["messages:checkin"])
    response = api.post("/api/v1/checkin", {"message": first.pk}, format="json")
    assert response.status_code == 200 and response.json() == {"reset": 1}
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.warning_level, second.warning_level) == (0, 1)
    assert api.post("/api/v1/checkin", {}, format="json").json() == {"reset": 2}
    # The scope allows nothing else.
    assert api.get("/api/v1/messages/").status_code == 403
    assert api.post(f"/api/v1/messages/{first.pk}/revoke/").status_code == 403


def test_the_api_refuses_keys_without_the_scope_and_bad_input(api_client_for, owner, other_user, make_message):
    message = make_message(owner, level=2)
    assert api_client_for(owner, ["messages:read"]).post("/api/v1/checkin", {}, format="json").status_code == 403
    writer = api_client_for(owner, ["messages:write"])  # messages:write includes checking in
    bad = writer.post("/api/v1/checkin", {"message": "x"}, format="json")
    assert bad.status_code == 400 and "message" in bad.json()["error"]["fields"]
    theirs = make_message(other_user, level=2)
    assert writer.post("/api/v1/checkin", {"message": theirs.pk}, format="json").status_code == 404
    message.refresh_from_db()
    assert message.warning_level == 2
    assert writer.post("/api/v1/checkin", {"message": message.pk}, format="json").status_code == 200


# The settings page -----------------------------------------------------------------------------


def test_the_page_makes_rotates_and_deletes_it_with_security_events(client, owner, make_message):
    client.force_login(owner)
    url = reverse("messaging:ping_settings")
    assert client.get(url).status_code == 200 and not PingToken.objects.exists()
    made = client.post(url, {"do": "create"})
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    first_url = made.context["new_url"]
    assert first_url in made.content.decode()
    assert first_url not in client.get(url).content.decode()  # shown once
    rotated = client.post(url, {"do": "create"}).context["new_url"]
    assert rotated != first_url and PingToken.objects.count() == 1
    make_message(owner, level=1)
    assert client.post(urlsplit(first_url).path).status_code == 404  # rotated: the first URL is dead
    assert client.post(urlsplit(rotated).path).status_code == 200
    assert client.post(url, {"do": "delete"}).status_code == 302
    assert not PingToken.objects.exists()
    kinds = list(AuditEvent.objects.filter(user=owner).order_by("id").values_list("event_type", flat=True))
    assert [k for k in kinds if k.startswith("ping_token")] == [
        "ping_token.created",
        "ping_token.rotated",
        "ping_token.deleted",
    ]


def test_the_page_asks_to_log_in_again_before_a_change(client, owner, settings, time_machine):
    from datetime import timedelta

    from django.utils import timezone

    time_machine.move_to(timezone.now(), tick=False)
    client.force_login(owner)
    time_machine.move_to(timezone.now() + timedelta(seconds=settings.REAUTH_WINDOW_SECONDS + 5), tick=False)
    url = reverse("messaging:ping_settings")
    assert client.get(url).status_code == 200
    response = client.post(url, {"do": "create"})
    assert response.status_code == 302 and reverse("accounts:reauth") in response["Location"]
    assert not PingToken.objects.exists()
