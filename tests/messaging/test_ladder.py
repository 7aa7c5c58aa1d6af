"""The escalation ladder: the schedule, a whole cycle with frozen time, answers at every level, downtime."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from cradle_site.errors import StateError
from messaging import ladder, services
from messaging.models import Delivery, Message, StatusLog
from tests.clock import NOW
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def statuses(message) -> list[str]:
    return list(message.status_logs.order_by("created_at", "id").values_list("status", flat=True))


def test_it_calculates_the_seeds_schedule(seed_ladder):
    steps = ladder.calculate_warning_schedule(start=NOW, delay_months=2)
    assert [s.step for s in steps] == [1, 2, 3, 4, 5, 6]
    assert [(s.at - NOW).days for s in steps] == [60, 90, 120, 127, 128, 129]
    assert steps[-1].is_delivery
    assert ladder.total_days(2) == 60 + 69


def test_it_takes_offsets_from_settings(settings):
    settings.MESSAGING_LADDER_DAYS = [2, 2, 2, 2, 2]
    settings.MESSAGING_DAYS_PER_MONTH = 10
    steps = ladder.calculate_warning_schedule(start=NOW, delay_months=1)
    assert [(s.at - NOW).days for s in steps] == [10, 12, 14, 16, 18, 20]


def test_it_runs_a_whole_cycle_each_step_at_its_offset(seed_ladder, owner, make_message):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, months=1)
        d = 30
        # (days after creation, expected level after the sweep, logs so far)
        expected = [(d, 1), (d + 30, 2), (d + 60, 3), (d + 67, 4), (d + 68, 5)]
        for day, level in expected:
            clock.move_to(NOW + timedelta(days=day) - timedelta(seconds=1))
            messaging_minute()
            message.refresh_from_db()
            assert message.warning_level == level - 1, f"warned early on day {day}"
            clock.move_to(NOW + timedelta(days=day))
            messaging_minute()
            message.refresh_from_db()
            assert message.warning_level == level
            assert message.last_warning_at == NOW + timedelta(days=day)
        assert len([m for m in mail.outbox if m.to == [owner.email]]) == 5
        # Not delivered a second before D + 69 days.
        clock.move_to(NOW + timedelta(days=d + 69) - timedelta(seconds=1))
        messaging_minute()
        message.refresh_from_db()
        assert message.state == Message.State.ACTIVE
        assert not [m for m in mail.outbox if m.to == ["rae@example.com"]]
        clock.move_to(NOW + timedelta(days=d + 69))
        messaging_minute()
        message.refresh_from_db()
        assert message.state == Message.State.DELIVERED
        assert message.delivered_at == NOW + timedelta(days=d + 69)
    assert statuses(message) == ["WARNING_1", "WARNING_2", "WARNING_3", "WARNING_4", "WARNING_5", "DELIVERED"]
    delivered = [m for m in mail.outbox if m.to == ["rae@example.com"]]
    # The notice with the recipient's own link; the text is on their page, not in the mail.
    assert len(delivered) == 1 and "/d/" in delivered[0].body and "the secret plan" not in delivered[0].body


def _walk_to(level: int, message, clock) -> None:
    """Sweep until ``message`` is at ``level`` (the clock moves to each due time)."""
    message.refresh_from_db()
    while message.warning_level < level:
        clock.move_to(message.next_warning_date)
        messaging_minute()
        message.refresh_from_db()


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4, 5])
def test_it_resets_at_every_level_and_never_delivers_the_old_cycle(seed_ladder, owner, make_message, level):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, months=1)
        _walk_to(level, message, clock)
        answered_at = message.next_warning_date - timedelta(hours=1)
        clock.move_to(answered_at)
        services.message_reset(message=message)
        message.refresh_from_db()
        assert (message.warning_level, message.next_warning_date) == (0, answered_at + 30 * DAY)
        log = message.status_logs.get(status="WARNING_RESET")
        assert log.response == "RESET"
        # Where the old cycle would have delivered, nothing happens.
        clock.move_to(NOW + 100 * DAY)
        messaging_minute()
        message.refresh_from_db()
        assert message.state == Message.State.ACTIVE
        assert not Delivery.objects.filter(message=message).exists()


def test_it_refuses_continue_before_any_warning(seed_ladder, owner, make_message):
    message = make_message(owner, months=1)
    with pytest.raises(StateError, match="No warning is waiting"):
        services.message_continue(message=message)
    assert not message.status_logs.exists()


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_it_continues_at_every_level_and_the_ladder_goes_on(seed_ladder, owner, make_message, level):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, months=1)
        _walk_to(level, message, clock)
        before = message.next_warning_date
        services.message_continue(message=message)
        message.refresh_from_db()
        assert (message.warning_level, message.next_warning_date) == (level, before)
        log = message.status_logs.get(status="CONTINUED")
        assert log.response == "CONTINUE"
        _walk_to(5, message, clock)
        clock.move_to(message.next_warning_date)
        messaging_minute()
        message.refresh_from_db()
        assert message.state == Message.State.DELIVERED


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4, 5])
def test_it_revokes_at_every_level_and_never_delivers(seed_ladder, owner, make_message, level):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, months=1)
        _walk_to(level, message, clock)
        services.message_revoke(message=message)
        clock.move_to(NOW + 400 * DAY)
        messaging_minute()
        message.refresh_from_db()
    assert message.state == Message.State.REVOKED and not message.is_active
    assert not Delivery.objects.filter(message=message).exists()
    assert statuses(message)[-1] == "REVOKED"
    assert not [m for m in mail.outbox if m.to == ["rae@example.com"]]
    with pytest.raises(StateError):
        services.message_reset(message=message)


def test_a_revoke_while_delivering_cancels_the_pending_deliveries(seed_ladder, owner, make_message, settings):
    settings.MESSAGING_SMS_GATEWAY = "tests.messaging.test_delivery.RefusingGateway"
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, recipients=[{"name": "P", "contact": "+14155550123", "contact_type": "sms"}])
        _walk_to(5, message, clock)
        clock.move_to(message.next_warning_date)
        messaging_minute()  # the gateway refuses: the delivery stays pending, to be retried
        message.refresh_from_db()
        assert message.state == Message.State.DELIVERING
        services.message_revoke(message=message)
    assert Delivery.objects.get(message=message).state == Delivery.State.CANCELLED
    assert statuses(message)[-2:] == ["DELIVERY_FAILED", "REVOKED"]


def test_a_warning_queued_before_a_reset_is_not_sent_after_it(seed_ladder, owner, make_message):
    from messaging.sweep import sweep_due

    with time_machine.travel(NOW + 30 * DAY, tick=False):
        message = make_message(owner, months=1, now=NOW)
        sweep_due()  # warning 1 is in the outbox, not sent yet
        services.message_reset(message=message)
        messaging_minute()
    assert mail.outbox == []


def test_it_keeps_every_interval_after_100_days_of_downtime(seed_ladder, owner, make_message):
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, months=1)
        _walk_to(2, message, clock)  # warnings 1 and 2 sent on time
        warned_2 = message.last_warning_at
        # The cluster stops for 100 days: nothing runs.
        back = warned_2 + 100 * DAY
        clock.move_to(back)
        messaging_minute()
        message.refresh_from_db()
        # One step only, however late: warning 3 now; warning 4 seven days after it.
        assert message.warning_level == 3 and message.last_warning_at == back
        assert message.next_warning_date == back + 7 * DAY
        messaging_minute()  # again at once: nothing more
        message.refresh_from_db()
        assert message.warning_level == 3
        sent = {3: back}
        for level, gap in ((4, 7), (5, 1)):
            clock.move_to(message.next_warning_date - timedelta(seconds=1))
            messaging_minute()
            message.refresh_from_db()
            assert message.warning_level == level - 1
            clock.move_to(message.next_warning_date)
            messaging_minute()
            message.refresh_from_db()
            assert message.warning_level == level
            assert message.last_warning_at - sent[level - 1] == gap * DAY
            sent[level] = message.last_warning_at
        clock.move_to(message.next_warning_date - timedelta(seconds=1))
        messaging_minute()
        message.refresh_from_db()
        assert message.state == Message.State.ACTIVE
        clock.move_to(message.next_warning_date)
        messaging_minute()
        message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert message.delivered_at - sent[5] == DAY
    logs = list(message.status_logs.order_by("created_at", "id").values_list("status", "created_at"))
    assert [s for s, _ in logs] == ["WARNING_1", "WARNING_2", "WARNING_3", "WARNING_4", "WARNING_5", "DELIVERED"]
    assert logs[-1][1] > logs[-2][1]
    owner_mail = [m for m in mail.outbox if m.to == [owner.email]]
    assert len(owner_mail) == 5


def test_the_sweep_query_count_does_not_grow_with_the_batch(
    seed_ladder, owner, make_message, django_assert_max_num_queries
):
    from messaging.sweep import sweep_batch

    with time_machine.travel(NOW, tick=False):
        for _ in range(30):
            make_message(owner)
    Message.objects.update(next_warning_date=NOW)
    Message.objects.filter(pk__in=list(Message.objects.values_list("pk", flat=True)[:10])).update(warning_level=3)
    # savepoint + claim + per level (2): one UPDATE and one INSERT of logs + release, for any batch size.
    with django_assert_max_num_queries(7):
        assert sweep_batch(now=NOW, batch_size=1000)[0] == 30
    assert StatusLog.objects.filter(status="WARNING_1").count() == 20
    assert StatusLog.objects.filter(status="WARNING_4").count() == 10


def test_the_ladder_waits_for_a_warning_that_could_not_be_sent(seed_ladder, owner, make_message, settings):
    """SMTP is down for three days after warning 1: warning 2 still comes a full interval
    after warning 1 actually reached the owner, never on the original date."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on: the real SMTP backend fails
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    locmem = settings.EMAIL_BACKEND
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner, months=1)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
        clock.move_to(NOW + 30 * DAY)
        messaging_minute()
        message.refresh_from_db()
        assert message.warning_level == 1 and message.warning_email_attempts == 1
        assert message.warning_email_error  # visible to staff
        # Past warning 2's original date while the e-mail is still unsent: no escalation.
        clock.move_to(NOW + 61 * DAY)
        messaging_minute()
        message.refresh_from_db()
        assert message.warning_level == 1
        # SMTP is back: warning 1 goes out now, and warning 2 waits its 30 days from now.
        settings.EMAIL_BACKEND = locmem
        clock.move_to(NOW + 62 * DAY)
        messaging_minute()
        message.refresh_from_db()
        assert message.warning_level == 1
        assert [m.to for m in mail.outbox] == [[owner.email]]
        assert message.next_warning_date == NOW + 92 * DAY
        clock.move_to(NOW + 92 * DAY - timedelta(seconds=1))
        messaging_minute()
        message.refresh_from_db()
        assert message.warning_level == 1
        clock.move_to(NOW + 92 * DAY)
        messaging_minute()
        message.refresh_from_db()
        assert message.warning_level == 2
