"""Pauses ("away until ..."): nothing is warned or delivered while one is in force, the ladder resumes
with the full interval, the limit holds, each is logged and announced, and only the owner can set one."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from cradle_site.errors import StateError
from messaging import pauses, services, sweep
from messaging.models import Delivery, Message, Pause, StatusLog
from tests.clock import NOW
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def notified(monkeypatch):
    """Every owner_notify call (the real one runs too: it sends to the account e-mail)."""
    calls = []
    real = pauses.owner_notify

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(pauses, "owner_notify", spy)
    return calls


def _hourly(clock, start, end, check) -> None:
    at = start
    while at < end:
        clock.move_to(at)
        messaging_minute()
        check(at)
        at += H


def test_a_pause_holds_every_warning_and_resumes_with_the_whole_first_delay(owner, make_message):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, ladder_name="welfare")  # warning 1 due at NOW + 1 day
        clock.move_to(NOW + 20 * H)
        pauses.pause_start(owner=owner, until=NOW + 3 * D)

        def nothing(at):
            message.refresh_from_db()
            assert message.warning_level == 0, f"warned at {at} during the pause"

        # Through the pause and the whole day after it: the full first delay from its end.
        _hourly(clock, NOW + 20 * H, NOW + 4 * D, nothing)
        clock.move_to(NOW + 4 * D)
        messaging_minute()
        message.refresh_from_db()
        assert message.warning_level == 1
        assert [m.subject for m in mail.outbox if "warning 1" in m.subject]


def test_no_delivery_while_a_pause_is_in_force_and_the_last_interval_is_whole_after_it(owner, make_message):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, ladder_name="welfare")
        Message.objects.filter(pk=message.pk).update(warning_level=3, last_warning_at=NOW, next_warning_date=NOW + H)
        pauses.pause_start(owner=owner, message=message, until=NOW + 2 * D)

        def not_delivered(at):
            assert not Delivery.objects.filter(message=message).exists(), f"delivery started at {at}"

        _hourly(clock, NOW, NOW + 2 * D + 12 * H, not_delivered)
        clock.move_to(NOW + 2 * D + 12 * H)
        messaging_minute()
        assert Delivery.objects.get(message=message).state == Delivery.State.SENT


def test_a_queued_warning_waits_for_the_end_of_the_pause_then_gives_its_whole_interval(owner, make_message):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, ladder_name="welfare")
        clock.move_to(NOW + D)
        sweep.sweep_due()  # warning 1 queued, not yet sent
        pauses.pause_start(owner=owner, until=NOW + 2 * D)
        clock.move_to(NOW + 2 * D - timedelta(seconds=1))
        messaging_minute()
        assert not [m for m in mail.outbox if "warning 1" in m.subject]
        clock.move_to(NOW + 2 * D)
        messaging_minute()
        assert [m for m in mail.outbox if "warning 1" in m.subject]
        message.refresh_from_db()
        assert message.next_warning_date == NOW + 2 * D + 6 * H


def test_ending_a_pause_early_resumes_from_now_and_is_logged_and_announced(
    owner, make_message, notified, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, ladder_name="welfare")
        with django_capture_on_commit_callbacks(execute=True):
            pause = pauses.pause_start(owner=owner, until=NOW + 30 * D)
        assert [c["owner"] for c in notified] == [owner] and "paused" in notified[0]["subject"]
        assert mail.outbox[-1].to == [owner.email]
        clock.move_to(NOW + 5 * D)
        with django_capture_on_commit_callbacks(execute=True):
            pauses.pause_end(pause=pause)
        assert len(notified) == 2 and "ended" in notified[1]["subject"]
        message.refresh_from_db()
        assert message.paused_until == NOW + 5 * D and message.next_warning_date == NOW + 6 * D
        logs = list(message.status_logs.values_list("status", "data"))
        assert logs[0][0] == StatusLog.Status.PAUSED and logs[0][1]["until"] == (NOW + 30 * D).isoformat()
        assert logs[0][1]["all_messages"] is True and logs[0][1]["actor"] == {"kind": "owner"}
        assert logs[1][0] == StatusLog.Status.PAUSE_ENDED
        with pytest.raises(StateError):
            pauses.pause_end(pause=pause)


def test_a_pause_lasts_at_most_the_setting(owner, settings, api_client_for, owner_client):
    settings.MESSAGING_PAUSE_MAX_DAYS = 90
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(ValidationError) as caught:
            pauses.pause_start(owner=owner, until=NOW + 90 * D + timedelta(seconds=1))
        assert "at most 90 days" in caught.value.message_dict["until"][0]
        with pytest.raises(ValidationError):
            pauses.pause_start(owner=owner, until=NOW - H)
        api = api_client_for(owner, ["messages:read", "messages:write"])
        response = api.post(reverse("api:messaging-pause-list"), {"until": (NOW + 91 * D).isoformat()}, format="json")
        assert response.status_code == 400 and "until" in response.json()["error"]["fields"]
        page = owner_client.post(reverse("messaging:pause_settings"), {"until": "2025-07-01T12:00"})
        assert page.status_code == 200 and "at most 90 days" in page.context["form"].errors["until"][0]
        assert not Pause.objects.exists()
        pauses.pause_start(owner=owner, until=NOW + 90 * D)


def test_a_message_written_during_a_pause_waits_for_it_and_a_reset_keeps_it_waiting(owner, make_message):
    with time_machine.travel(NOW, tick=False) as clock:
        pauses.pause_start(owner=owner, until=NOW + 10 * D)
        message = make_message(owner, ladder_name="welfare")
        assert message.paused_until == NOW + 10 * D and message.next_warning_date == NOW + 11 * D
        clock.move_to(NOW + 2 * D)
        services.message_reset(message=message)
        message.refresh_from_db()
        assert message.next_warning_date == NOW + 11 * D


def test_a_pause_covers_only_messages_on_their_ladder(owner, make_message):
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(state=Message.State.DELIVERING)
    message.refresh_from_db()
    with pytest.raises(StateError):
        pauses.pause_start(owner=owner, message=message, until=message.created_at + D)


def test_the_delivery_sender_holds_a_delivery_of_a_paused_message(owner, make_message):
    """The delivery path checks the pause under the message's row lock (a row written around the services)."""
    with time_machine.travel(NOW, tick=False):
        message = make_message(owner, level=5)
        Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
        sweep.sweep_due()
        Message.objects.filter(pk=message.pk).update(paused_until=NOW + D)
        messaging_minute()
        delivery = Delivery.objects.get(message=message)
        assert delivery.state == Delivery.State.PENDING and delivery.next_attempt_at == NOW + D
        assert not [m for m in mail.outbox if m.to == ["rae@example.com"]]


def test_an_outsider_can_neither_pause_nor_end_anothers(owner, other_user, make_message, client, api_client_for):
    message = make_message(owner)
    pause = pauses.pause_start(owner=owner, until=message.created_at + D)
    client.force_login(other_user)
    assert client.get(reverse("messaging:message_pause", args=[message.pk])).status_code == 404
    assert (
        client.post(reverse("messaging:message_pause", args=[message.pk]), {"until": "2030-01-01T00:00"}).status_code
        == 404
    )
    assert client.post(reverse("messaging:pause_end", args=[pause.pk])).status_code == 404
    api = api_client_for(other_user, ["messages:read", "messages:write"])
    response = api.post(
        reverse("api:messaging-pause-list"), {"until": "2030-01-01T00:00:00Z", "message": message.pk}, format="json"
    )
    assert response.status_code == 400 and "message" in response.json()["error"]["fields"]
    assert api.post(reverse("api:messaging-pause-end", args=[pause.pk])).status_code == 404
    assert api.get(reverse("api:messaging-pause-detail", args=[pause.pk])).status_code == 404
    pause.refresh_from_db()
    assert pause.ended_at is None and Pause.objects.count() == 1


def test_the_banner_shows_on_every_page_while_in_force_at_no_query_cost(
    owner, owner_client, make_message, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with time_machine.travel(NOW, tick=False) as clock:
        make_message(owner)
        url = reverse("messaging:message_list")
        owner_client.get(url)
        with CaptureQueriesContext(connection) as before:
            assert 'id="pause-banner"' not in owner_client.get(url).content.decode()
        without = len(before)  # now: the next request clears the connection's query log
        pauses.pause_start(owner=owner, until=NOW + 3 * D)
        owner_client.get(url)  # fills the cache
        with django_assert_max_num_queries(without):
            page = owner_client.get(url).content.decode()
        assert 'id="pause-banner"' in page and "paused (until" in page
        assert 'id="pause-banner"' in owner_client.get(reverse("accounts:profile")).content.decode()
        clock.move_to(NOW + 3 * D)
        assert 'id="pause-banner"' not in owner_client.get(url).content.decode()


def test_the_api_starts_lists_and_ends_a_pause(owner, api_client_for, make_message):
    message = make_message(owner)
    api = api_client_for(owner, ["messages:read", "messages:write"])
    until = (message.created_at + 2 * D).isoformat()
    made = api.post(reverse("api:messaging-pause-list"), {"until": until, "message": message.pk}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["in_force"] is True and made.json()["message"] == message.pk
    listed = api.get(reverse("api:messaging-pause-list")).json()
    assert [p["id"] for p in listed["results"]] == [made.json()["id"]]
    detail = api.get(reverse("api:messaging-message-detail", args=[message.pk])).json()
    assert detail["paused_until"] is not None
    ended = api.post(reverse("api:messaging-pause-end", args=[made.json()["id"]]))
    assert ended.status_code == 200 and ended.json()["in_force"] is False
    reader = api_client_for(owner, ["messages:read"])
    assert reader.post(reverse("api:messaging-pause-list"), {"until": until}, format="json").status_code == 403


def test_the_page_pauses_one_message_and_ends_it(owner, owner_client, make_message):
    message = make_message(owner)
    with time_machine.travel(NOW, tick=False):
        url = reverse("messaging:message_pause", args=[message.pk])
        assert owner_client.get(url).status_code == 200
        response = owner_client.post(url, {"until": "2025-03-20T09:30"})
        assert response.status_code == 302
        pause = Pause.objects.get()
        assert pause.message == message
        owner_client.post(reverse("messaging:pause_end", args=[pause.pk]))
        pause.refresh_from_db()
        assert pause.ended_at == NOW


@pytest.mark.parametrize("ended_early", [True, False])
def test_a_shorter_ladder_chosen_after_a_pause_still_waits_the_full_interval_after_its_end(
    owner, make_message, ended_early
):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, ladder_name="monthly")  # warning 1 at NOW + 30 days
        pause = pauses.pause_start(owner=owner, message=message, until=NOW + 10 * D)
        end = NOW + 4 * D if ended_early else NOW + 10 * D
        clock.move_to(end)
        if ended_early:
            pauses.pause_end(pause=pause)
        clock.move_to(end + 2 * H)
        # The welfare check warns 1 day into a cycle: this cycle began days ago, but the pause
        # ended 2 hours ago with the promise of a whole first delay after it - not "now".
        services.message_update(message=message, content="x", initial_delay_months=1, ladder_name="welfare")
        message.refresh_from_db()
        assert message.next_warning_date == end + D
        clock.move_to(end + D - H)
        messaging_minute()
        assert Message.objects.get(pk=message.pk).warning_level == 0
        clock.move_to(end + D)
        messaging_minute()
        assert Message.objects.get(pk=message.pk).warning_level == 1
