"""Statistics per network (issue 19): a project's hours and days are kept per network (X for
a task without an account), their sums are the project's figures as before, the backfill
writes what the hourly job wrote, and the series read every network in the same queries."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.aggregate import aggregate_recent, backfill, hourly_aggregate
from analytics.models import AnalyticsDaily, AnalyticsHourly, MessageDaily, MessageHourly
from analytics.selectors import PUBLISHING_COUNTS, publishing_series, series_range
from publishing.factories import tasks_bulk_create
from publishing.models import NetworkAccount, PublishingLog
from tests.analytics.factories import (
    NOW,
    assert_same,
    expected_publishing,
    make_message,
    make_project,
    random_publishing_logs,
    random_status_logs,
    table_snapshot,
)

START = NOW - timedelta(hours=48)
NETWORKS = ("x", "mastodon", "bluesky")


def _account(project, network: str) -> NetworkAccount:
    return NetworkAccount.objects.create(
        project=project,
        network=network,
        instance_url="https://mastodon.example" if network == "mastodon" else "",
        handle=f"{project.name}-{network}",
    )


def _tasks(project, count: int) -> list:
    """``count`` tasks on each of X, Mastodon and Bluesky."""
    tasks = tasks_bulk_create(project=project, count=count, scheduled_at=NOW)
    for network in NETWORKS[1:]:
        tasks += tasks_bulk_create(project=project, count=count, scheduled_at=NOW, account=_account(project, network))
    return tasks


@pytest.fixture
def world(owner, other_user):
    rng = random.Random(19)
    tasks = []
    for user in (owner, other_user):
        for index in range(2):
            tasks += _tasks(make_project(user, f"{user.username}-{index}"), 3)
    # One project of the owner's posts to X only: its rows are X rows alone.
    tasks += tasks_bulk_create(project=make_project(owner, "x-only"), count=3, scheduled_at=NOW)
    random_publishing_logs(rng, tasks, start=START, hours=48, count=1500)
    messages = [make_message(user) for user in (owner, other_user)]
    random_status_logs(rng, messages, start=START, hours=48, count=200)
    return {"rng": rng, "tasks": tasks, "messages": messages}


def _by_project(snapshot: dict) -> dict:
    """Per (hour, project): the counts summed over networks."""
    totals: dict = defaultdict(lambda: dict.fromkeys(PUBLISHING_COUNTS, 0))
    for (hour, project_id, _network), values in snapshot.items():
        for name in PUBLISHING_COUNTS:
            totals[(hour, project_id)][name] += values[name]
    return dict(totals)


def _logs_by_project() -> dict:
    """The oracle of the totals, ignoring networks: one GROUP BY of the logs' statuses in Python."""
    totals: dict = defaultdict(lambda: dict.fromkeys(PUBLISHING_COUNTS, 0))
    for log in PublishingLog.objects.all():
        key = (log.published_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0), log.project_id)
        totals[key][f"posts_{log.status}"] += 1
        if log.status == PublishingLog.Status.FAILED:
            totals[key][f"failures_{log.error_kind or 'other'}"] += 1
    return dict(totals)


def test_it_counts_each_network_apart_on_a_mixed_set(world):
    hourly_aggregate(since=START, until=NOW + timedelta(hours=1))
    snapshot = table_snapshot(AnalyticsHourly, "project")
    assert_same(snapshot, expected_publishing())
    assert {key[2] for key in snapshot} == set(NETWORKS)
    x_only = {key[2] for key in snapshot if key[1] == world["tasks"][-1].project_id}
    assert x_only == {"x"}
    # Totals unchanged: a project's hour is the sum of its networks' rows.
    assert _by_project(snapshot) == _logs_by_project()
    assert sum(v["posts_success"] + v["posts_failed"] + v["posts_skipped"] for v in snapshot.values()) == 1500


def test_the_days_are_per_network_and_sum_their_hours(world):
    hourly_aggregate(since=START, until=NOW + timedelta(hours=1))
    days: dict = defaultdict(lambda: dict.fromkeys(PUBLISHING_COUNTS, 0))
    for row in AnalyticsHourly.objects.all():
        for name in PUBLISHING_COUNTS:
            days[(row.hour_timestamp.astimezone(UTC).date(), row.project_id, row.network)][name] += getattr(row, name)
    stored = {
        (row.day, row.project_id, row.network): {name: getattr(row, name) for name in PUBLISHING_COUNTS}
        for row in AnalyticsDaily.objects.all()
    }
    assert stored == dict(days)
    assert {key[2] for key in stored} == set(NETWORKS)


def _all_tables() -> tuple:
    def days(model, owner: str):
        return {
            (row.day, getattr(row, f"{owner}_id"), getattr(row, "network", None)): tuple(
                getattr(row, f.name) for f in model._meta.concrete_fields if f.name not in {"id", "day"}
            )
            for row in model.objects.all()
        }

    def rounded(table: dict) -> dict:
        # Means summed in another order (MariaDB's SUM of a day vs of a part) differ in the last bits.
        def value(v):
            return round(v, 9) if isinstance(v, float) else v

        return {
            key: ({n: value(v) for n, v in row.items()} if isinstance(row, dict) else tuple(value(v) for v in row))
            for key, row in table.items()
        }

    return (
        rounded(table_snapshot(AnalyticsHourly, "project")),
        rounded(table_snapshot(MessageHourly, "user")),
        rounded(days(AnalyticsDaily, "project")),
        rounded(days(MessageDaily, "user")),
    )


def test_backfill_equals_the_live_hourly_job(owner, other_user):
    """Live: logs arrive hour by hour (some late, into hours already aggregated) and the hourly
    job runs after each hour. Then the tables are emptied and backfilled over the whole range:
    every hour and day row, per network, comes back the same."""
    rng = random.Random(7)
    tasks = _tasks(make_project(owner, "live"), 4) + _tasks(make_project(other_user, "theirs"), 2)
    messages = [make_message(owner)]
    hours = 30
    for hour in range(hours):
        moment = START + timedelta(hours=hour)
        random_publishing_logs(rng, tasks, start=moment, hours=1, count=40)
        random_publishing_logs(rng, tasks, start=moment - timedelta(hours=3), hours=3, count=5)  # late rows
        random_status_logs(rng, messages, start=moment, hours=1, count=5)
        with time_machine.travel(moment + timedelta(minutes=59), tick=False):
            aggregate_recent(hours=4)
    live = _all_tables()
    assert {key[2] for key in live[0]} == set(NETWORKS)
    for model in (AnalyticsHourly, MessageHourly, AnalyticsDaily, MessageDaily):
        model.objects.all().delete()
    backfill(since=START - timedelta(hours=3), until=START + timedelta(hours=hours))
    assert _all_tables() == live


def _aggregate_queries(since, until) -> int:
    with CaptureQueriesContext(connection) as captured:
        hourly_aggregate(since=since, until=until)
    return len(captured.captured_queries)


def test_the_hourly_job_reads_the_networks_in_flat_queries(owner):
    """The network comes with the task-to-project map: as many queries for one X project as
    for many projects on three networks (and many more rows)."""
    small = make_project(owner, "small")
    random_publishing_logs(
        random.Random(1), tasks_bulk_create(project=small, count=2, scheduled_at=NOW), start=START, hours=3, count=10
    )
    few = _aggregate_queries(START, START + timedelta(hours=3))
    AnalyticsHourly.objects.all().delete()
    AnalyticsDaily.objects.all().delete()
    tasks = [task for index in range(6) for task in _tasks(make_project(owner, f"big-{index}"), 5)]
    random_publishing_logs(random.Random(2), tasks, start=START, hours=3, count=900)
    many = _aggregate_queries(START, START + timedelta(hours=3))
    assert AnalyticsHourly.objects.count() > 50
    assert many == few


@pytest.mark.parametrize("days", [2, 10, 120])  # hours, days, weeks
def test_the_series_hold_each_network_and_a_filter_reads_one(world, owner, days, django_assert_num_queries):
    hourly_aggregate(since=START, until=NOW + timedelta(hours=1))
    with time_machine.travel(NOW, tick=False):
        rng = series_range(first_day=(NOW - timedelta(days=days - 1)).date(), last_day=NOW.date(), tz=UTC)
        unfiltered = publishing_series(user=owner, rng=rng)
        with CaptureQueriesContext(connection) as captured:
            publishing_series(user=owner, rng=rng)
        by_network = {}
        for network in NETWORKS:
            with django_assert_num_queries(len(captured.captured_queries)):  # a filter costs no query
                by_network[network] = publishing_series(user=owner, rng=rng, network=network)
    assert sum(p["posts_success"] + p["posts_failed"] + p["posts_skipped"] for p in unfiltered) > 0
    for index, point in enumerate(unfiltered):
        for name in PUBLISHING_COUNTS:
            assert point[name] == sum(point["networks"][n][name] for n in NETWORKS), (name, point["start"])
            for network in NETWORKS:
                assert by_network[network][index][name] == point["networks"][network][name]
        for network in NETWORKS:
            assert by_network[network][index]["avg_duration"] == point["networks"][network]["avg_duration"]
            others = [n for n in NETWORKS if n != network]
            assert all(by_network[network][index]["networks"][n]["posts_success"] == 0 for n in others)
    # The owner's series only: the other user's projects post on the same networks.
    mine = sum(p["posts_success"] for p in unfiltered)
    logs = PublishingLog.objects.filter(project__owner=owner, status="success")
    assert mine == logs.filter(published_at__gte=rng.start, published_at__lt=rng.end).count()
