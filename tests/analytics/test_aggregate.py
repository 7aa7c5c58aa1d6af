"""The hourly tables equal a direct GROUP BY over the logs, late rows included, and stay so."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from analytics.aggregate import aggregate_recent, backfill, hourly_aggregate
from analytics.models import AnalyticsHourly, MessageHourly
from publishing.models import PublishingLog
from tests.analytics.factories import (
    NOW,
    assert_same,
    expected_messages,
    expected_publishing,
    make_message,
    make_project,
    make_tasks,
    random_publishing_logs,
    random_status_logs,
    table_snapshot,
)
from tests.conftest import run_python

START = NOW - timedelta(hours=48)


@pytest.fixture
def world(owner, other_user):
    rng = random.Random(5)
    tasks = []
    for user in (owner, other_user):
        for index in range(2):
            tasks += make_tasks(make_project(user, f"{user.username}-{index}"), 4)
    messages = [make_message(user) for user in (owner, other_user) for _ in range(3)]
    random_publishing_logs(rng, tasks, start=START, hours=48, count=800)
    random_status_logs(rng, messages, start=START, hours=48, count=400)
    return {"rng": rng, "tasks": tasks, "messages": messages}


def _assert_tables_match_logs():
    assert_same(table_snapshot(AnalyticsHourly, "project"), expected_publishing())
    assert table_snapshot(MessageHourly, "user") == expected_messages()


def test_it_equals_a_direct_group_by(world):
    result = hourly_aggregate(since=START, until=NOW + timedelta(hours=1))
    assert result.log_rows == 1200
    _assert_tables_match_logs()
    total = sum(row.posts_success + row.posts_failed + row.posts_skipped for row in AnalyticsHourly.objects.all())
    assert total == 800


def test_late_rows_and_vanished_hours_are_counted(world):
    hourly_aggregate(since=START, until=NOW + timedelta(hours=1))
    # Late rows land in hours already aggregated; one hour loses every log it had.
    random_publishing_logs(world["rng"], world["tasks"], start=NOW - timedelta(hours=5), hours=5, count=120)
    random_status_logs(world["rng"], world["messages"], start=NOW - timedelta(hours=5), hours=5, count=60)
    lost_hour = (NOW - timedelta(hours=3)).replace(minute=0)
    PublishingLog.objects.filter(published_at__gte=lost_hour, published_at__lt=lost_hour + timedelta(hours=1)).delete()
    with time_machine.travel(NOW, tick=False):
        aggregate_recent(hours=6)
    expected = expected_publishing()
    # The emptied hour keeps its rows, rewritten with zeros.
    emptied = {key: values for key, values in table_snapshot(AnalyticsHourly, "project").items() if key[0] == lost_hour}
    assert emptied and all(v["posts_success"] == v["posts_failed"] == v["posts_skipped"] == 0 for v in emptied.values())
    expected.update(emptied)
    assert_same(table_snapshot(AnalyticsHourly, "project"), expected)
    assert table_snapshot(MessageHourly, "user") == expected_messages()


def test_running_twice_changes_nothing(world):
    hourly_aggregate(since=START, until=NOW + timedelta(hours=1))
    first = (table_snapshot(AnalyticsHourly, "project"), table_snapshot(MessageHourly, "user"))
    ids = sorted(AnalyticsHourly.objects.values_list("pk", flat=True))
    hourly_aggregate(since=START, until=NOW + timedelta(hours=1))
    assert (table_snapshot(AnalyticsHourly, "project"), table_snapshot(MessageHourly, "user")) == first
    assert sorted(AnalyticsHourly.objects.values_list("pk", flat=True)) == ids


def test_backfill_by_day_equals_one_pass(world):
    parts = []
    total = backfill(since=START, until=NOW + timedelta(hours=1), progress=parts.append)
    assert len(parts) == 3  # 48 hours starting mid-day span three UTC days
    assert total.log_rows == 1200
    _assert_tables_match_logs()


def test_backfill_command(world, capsys):
    call_command("analytics_backfill", "--since", START.isoformat(), "--until", (NOW + timedelta(hours=1)).isoformat())
    captured = capsys.readouterr()
    assert "Backfilled 1,200 log rows" in captured.out
    assert "log rows" in captured.err  # per-day progress
    _assert_tables_match_logs()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "yesterday"], "--since must be a date"),
        (["--since", "2025-03-02", "--until", "2025-03-01"], "must be after --since"),
        # well-formed but impossible: parse_date/parse_datetime raise ValueError (was a traceback)
        (["--since", "2024-02-30"], "--since must be a date"),
        (["--since", "2024-05-01T25:00"], "--since must be a date"),
        (["--since", "2024-05-01T00:00+99:00"], "--since must be a date"),
        (["--since", "2024-05-01", "--until", "2024-13-01"], "--until must be a date"),
        # the ends of the calendar overflowed (OverflowError) or walked millions of days
        (["--since", "0001-01-01T00:00+01:00"], "--since must be between 2000-01-01 and 2999-12-31"),
        (["--since", "0001-01-01", "--dry-run"], "--since must be between"),
        (["--since", "2024-05-01", "--until", "9999-12-31"], "--until must be between"),
        (["--since", "2999-12-31"], "--since .* is in the future"),
    ],
)
def test_backfill_command_refuses_bad_ranges(db, args, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message):
        call_command("analytics_backfill", *args)


def test_backfill_command_stops_a_future_until_at_now(db, capsys):
    """--until 2999-12-31 used to walk ~357,000 empty days; it now ends at the current hour."""
    with time_machine.travel(NOW, tick=False):
        call_command("analytics_backfill", "--since", "2025-03-09", "--until", "2999-12-31")
    captured = capsys.readouterr()
    assert "is in the future; stopping at the current hour" in captured.err
    days = [line for line in captured.err.splitlines() if "log rows" in line]
    assert [line[:10] for line in days] == ["2025-03-09", "2025-03-10"]
    assert "Backfilled 0 log rows" in captured.out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_give_the_same_table(owner, other_user):
    rng = random.Random(7)
    tasks = make_tasks(make_project(owner), 5) + make_tasks(make_project(other_user), 5)
    messages = [make_message(owner), make_message(other_user)]
    random_publishing_logs(rng, tasks, start=START, hours=48, count=2000)
    random_status_logs(rng, messages, start=START, hours=48, count=500)
    code = (
        "from datetime import datetime\n"
        "from analytics.aggregate import hourly_aggregate\n"
        f"since = datetime.fromisoformat({START.isoformat()!r})\n"
        f"until = datetime.fromisoformat({(NOW + timedelta(hours=1)).isoformat()!r})\n"
        "for _ in range(3):\n"
        "    hourly_aggregate(since=since, until=until)\n"
        "print('done')\n"
    )
    workers = [run_python(code) for _ in range(2)]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert "done" in out
    _assert_tables_match_logs()
