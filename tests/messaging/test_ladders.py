"""Ladders per message: presets and custom ladders, validated alike on the service, the API and the
page, each delivered at its own times with the clock moved step by step, never a second early."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from messaging import ladder, services, sweep
from messaging.models import Delivery, Message, StatusLog
from tests.clock import NOW
from tests.jobs import messaging_minute
from tests.messaging.page_forms import message_form

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
D = timedelta(days=1)
RAE = {"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _walk(clock, message, steps: list[tuple[timedelta, int]]) -> None:
    """At each offset: nothing a second before, the step at it (a level, or 'delivering')."""
    for offset, level in steps:
        clock.move_to(NOW + offset - timedelta(seconds=1))
        messaging_minute()
        message.refresh_from_db()
        assert message.warning_level == level - 1 and message.state == Message.State.ACTIVE, f"early at {offset}"
        clock.move_to(NOW + offset)
        messaging_minute()
        message.refresh_from_db()
        if level > message.warnings_total:
            assert message.state != Message.State.ACTIVE, f"not delivered at {offset}"
        else:
            assert message.warning_level == level


@pytest.mark.parametrize(
    "preset,steps",
    [
        ("welfare", [(D, 1), (D + 6 * H, 2), (D + 12 * H, 3), (2 * D, 4)]),
        ("weekly", [(7 * D, 1), (8 * D, 2), (9 * D, 3), (10 * D, 4)]),
        ("monthly", [(30 * D, 1), (37 * D, 2), (40 * D, 3), (41 * D, 4)]),
    ],
)
def test_a_preset_warns_and_delivers_at_its_own_times(owner, make_message, preset, steps):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, ladder_name=preset)
        assert message.ladder_preset == preset and message.warnings_total == 3
        _walk(clock, message, steps)
        messaging_minute()
        assert Delivery.objects.get(message=message).state == Delivery.State.SENT
        warnings = [m for m in mail.outbox if m.to == [owner.email]]
        assert len(warnings) == 3
        assert "warning 1 of 3" in warnings[0].subject and "final warning" in warnings[2].subject


def test_a_custom_ladder_in_hours_runs_as_given(owner, make_message):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, ladder_name=ladder.CUSTOM, ladder_steps=[2 * 3600, 3600])
        assert message.warnings_total == 1 and message.next_warning_date == NOW + 2 * H
        _walk(clock, message, [(2 * H, 1), (3 * H, 2)])


def test_every_interval_counts_from_when_the_warning_was_really_sent(owner, make_message):
    """Promise 1 with a preset: a relay down for 5 hours at warning 1 gives the owner the whole 6 hours after it."""
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, ladder_name="welfare")
        clock.move_to(NOW + D)
        sweep.sweep_due()  # warning 1 queued; the sender does not run for 5 hours
        clock.move_to(NOW + D + 5 * H)
        messaging_minute()
        message.refresh_from_db()
        assert message.next_warning_date == NOW + D + 11 * H


@pytest.mark.parametrize(
    "steps,reason",
    [
        ([3600], "1 to 5 warnings"),
        ([3600] * 7, "1 to 5 warnings"),
        ([3600, 3599], "at least one hour"),
        ([3653 * 86400, 3600], "ten years"),
        (["x", 3600], "whole numbers"),
    ],
)
def test_a_custom_ladder_is_refused_with_its_reason(owner, steps, reason):
    with pytest.raises(ValidationError) as caught:
        services.message_create(
            owner=owner,
            content="plan",
            initial_delay_months=1,
            recipients=[RAE],
            ladder_name="custom",
            ladder_steps=steps,
        )
    assert reason in caught.value.message_dict["ladder_steps"][0]
    assert not Message.objects.exists()


def test_the_longest_ladder_allowed_is_accepted(owner, make_message):
    message = make_message(owner, ladder_name="custom", ladder_steps=[3653 * 86400 - 5 * 3600] + [3600] * 5)
    assert message.warnings_total == 5


def test_the_api_takes_a_ladder_and_answers_a_400_naming_the_field(api_client_for, owner):
    api = api_client_for(owner, ["messages:read", "messages:write"])
    url = reverse("api:messaging-message-list")
    body = {"content": "plan", "initial_delay_months": 1, "recipients": [RAE]}
    bad = api.post(url, {**body, "ladder": "custom", "ladder_steps": [3600, 60]}, format="json")
    assert bad.status_code == 400 and "ladder_steps" in bad.json()["error"]["fields"], bad.json()
    unknown = api.post(url, {**body, "ladder": "fortnightly"}, format="json")
    assert unknown.status_code == 400 and "ladder" in unknown.json()["error"]["fields"]
    good = api.post(url, {**body, "ladder": "custom", "ladder_steps": [7200, 3600, 3600]}, format="json")
    assert good.status_code == 201, good.json()
    data = good.json()
    assert data["ladder"] == "custom" and data["ladder_steps"] == [7200, 3600, 3600]
    assert [s["step"] for s in data["schedule"]] == [1, 2, 3] and data["schedule"][-1]["is_delivery"]
    seeded = api.post(url, body, format="json").json()
    assert seeded["ladder"] == "seed" and len(seeded["ladder_steps"]) == 6
    changed = api.patch(
        reverse("api:messaging-message-detail", args=[seeded["id"]]), {"ladder": "welfare"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["ladder_steps"] == [86400, 21600, 21600, 43200]


def test_the_page_takes_a_custom_ladder_in_hours_and_shows_errors_on_the_field(owner_client, owner):
    url = reverse("messaging:message_create")
    bad = owner_client.post(url, message_form(ladder="custom", ladder_steps="1, 0.5", ladder_unit="hours"))
    assert bad.status_code == 200
    assert "at least one hour" in bad.context["form"].errors["ladder_steps"][0]
    junk = owner_client.post(url, message_form(ladder="custom", ladder_steps="one, two", ladder_unit="days"))
    assert "ladder_steps" in junk.context["form"].errors
    assert not Message.objects.exists()
    good = owner_client.post(url, message_form(ladder="custom", ladder_steps="2, 1, 1", ladder_unit="hours"))
    assert good.status_code == 200 and "revocation_key" in good.context
    message = Message.objects.get()
    assert message.ladder_seconds == [7200, 3600, 3600]
    edit = owner_client.get(reverse("messaging:message_edit", args=[message.pk]))
    assert edit.context["form"].initial["ladder_steps"] == "2, 1, 1"
    assert edit.context["form"].initial["ladder_unit"] == "hours"


def test_the_ladder_cannot_change_while_a_warning_is_under_way(owner, make_message):
    message = make_message(owner, level=1)
    with pytest.raises(ValidationError) as caught:
        services.message_update(message=message, content="x", initial_delay_months=1, ladder_name="welfare")
    assert "ladder" in caught.value.message_dict
    at_zero = make_message(owner)
    services.message_update(message=at_zero, content="x", initial_delay_months=1, ladder_name="welfare", now=NOW)
    at_zero.refresh_from_db()
    assert at_zero.next_warning_date == max(at_zero.cycle_started_at + D, NOW)


def test_one_sweep_batch_advances_each_ladder_at_its_own_level(owner, make_message, django_assert_max_num_queries):
    """Set-based with mixed ladders: one UPDATE (and one log INSERT) per level present, each
    message's next step timed by its own ladder."""
    with time_machine.travel(NOW, tick=False) as clock:
        for name in ("welfare", "weekly", "seed", "seed"):
            for level in (0, 2, 3):
                m = make_message(owner, ladder_name=name)
                Message.objects.filter(pk=m.pk).update(warning_level=level, next_warning_date=NOW)
        clock.move_to(NOW + H)
        with django_assert_max_num_queries(40) as captured:
            claimed, _cursor = sweep.sweep_batch(now=NOW + H, batch_size=100)
        assert claimed == 12
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('UPDATE "messaging_message"')]
    updates += [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE `messaging_message`")]
    # Levels 0, 2 and 3 warn (3 ladders each, 2 at level 3); at level 3 the welfare check delivers.
    assert len(updates) == 4
    table = StatusLog._meta.db_table
    inserts = [q["sql"] for q in captured.captured_queries if "INSERT INTO" in q["sql"] and table in q["sql"]]
    assert len([sql for sql in inserts if "SELECT" in sql]) == 3  # one per warning level sent
    for m in Message.objects.filter(state=Message.State.ACTIVE):
        assert m.next_warning_date == NOW + H + ladder.ladder_of(m).interval_after(m.warning_level), m.ladder_preset
        log = StatusLog.objects.get(message=m, status=f"WARNING_{m.warning_level}")
        assert log.data["next_step_at"] == m.next_warning_date.isoformat()
    by = {(m.ladder_preset, m.warning_level, m.state) for m in Message.objects.all()}
    assert ("welfare", 3, Message.State.DELIVERING) in by  # level 3 = its last warning: delivered
    assert ("", 4, Message.State.ACTIVE) in by  # the seed goes on to warning 4
    assert StatusLog.objects.filter(status="WARNING_3").count() == 4  # two seed rows, welfare, weekly
    assert StatusLog.objects.filter(status="WARNING_4").count() == 2  # the seed rows at level 3 only
