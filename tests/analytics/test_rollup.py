"""The day roll-ups equal the sums of their hours, stay so when an hour is re-aggregated, and
the charts read them only where whole UTC days lie inside a bucket (ragged edges from hours)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.aggregate import MESSAGE_FIELDS, PUBLISHING_FIELDS, hourly_aggregate
from analytics.models import AnalyticsDaily, AnalyticsHourly, MessageDaily, MessageHourly
from analytics.rollup import rebuild
from analytics.selectors import coverage, project_totals, publishing_series, series_range
from publishing.models import PublishingLog
from tests.analytics.factories import (
    NOW,
    make_message,
    make_project,
    make_tasks,
    random_publishing_logs,
    random_status_logs,
)

START = NOW - timedelta(days=3)
COUNTS = [name for name in PUBLISHING_FIELDS if name != "avg_duration"]


@pytest.fixture
def world(owner, other_user):
    rng = random.Random(11)
    tasks = []
    for user in (owner, other_user):
        for index in range(2):
            tasks += make_tasks(make_project(user, f"{user.username}-{index}"), 3)
    messages = [make_message(user) for user in (owner, other_user) for _ in range(2)]
    random_publishing_logs(rng, tasks, start=START, hours=72, count=900)
    random_status_logs(rng, messages, start=START, hours=72, count=400)
    hourly_aggregate(since=START, until=NOW)
    return {"rng": rng, "tasks": tasks}


def _hours_by_day(model, owner: str, fields: list[str]) -> dict:
    days: dict = defaultdict(lambda: dict.fromkeys(fields, 0))
    for row in model.objects.all():
        values = days[(row.hour_timestamp.astimezone(UTC).date(), getattr(row, f"{owner}_id"))]
        for name in fields:
            values[name] += getattr(row, name) or 0
    return dict(days)


def _days(model, owner: str, fields: list[str]) -> dict:
    return {
        (row.day, getattr(row, f"{owner}_id")): {name: getattr(row, name) for name in fields}
        for row in model.objects.all()
    }


def _assert_days_equal_hours() -> None:
    assert _days(AnalyticsDaily, "project", COUNTS) == _hours_by_day(AnalyticsHourly, "project", COUNTS)
    assert _days(MessageDaily, "user", MESSAGE_FIELDS) == _hours_by_day(MessageHourly, "user", MESSAGE_FIELDS)
    for day in AnalyticsDaily.objects.all():
        hours = AnalyticsHourly.objects.filter(
            project_id=day.project_id,
            hour_timestamp__gte=datetime.combine(day.day, time(), tzinfo=UTC),
            hour_timestamp__lt=datetime.combine(day.day + timedelta(days=1), time(), tzinfo=UTC),
        )
        weighted = sum((h.avg_duration or 0) * h.posts_success for h in hours)
        if day.posts_success:
            assert day.avg_duration == pytest.approx(weighted / day.posts_success)
        else:
            assert day.avg_duration is None


def test_the_aggregation_writes_days_equal_to_their_hours(world):
    assert AnalyticsDaily.objects.count() >= 4 * 3 and MessageDaily.objects.exists()
    _assert_days_equal_hours()


def test_re_aggregating_an_hour_corrects_its_day_and_twice_changes_nothing(world):
    hour = START + timedelta(hours=30)
    hour = hour.replace(minute=0, second=0, microsecond=0)
    PublishingLog.objects.filter(published_at__gte=hour, published_at__lt=hour + timedelta(hours=1)).delete()
    random_publishing_logs(world["rng"], world["tasks"], start=hour, hours=1, count=40)
    hourly_aggregate(since=hour, until=hour + timedelta(hours=1))
    _assert_days_equal_hours()
    before = _days(AnalyticsDaily, "project", PUBLISHING_FIELDS)
    hourly_aggregate(since=hour, until=hour + timedelta(hours=1))
    assert _days(AnalyticsDaily, "project", PUBLISHING_FIELDS) == before


def test_an_hour_whose_logs_vanished_zeroes_its_day_share(world):
    PublishingLog.objects.all().delete()
    hourly_aggregate(since=START, until=NOW)
    assert set(AnalyticsDaily.objects.values_list("posts_success", "posts_failed", "avg_duration")) == {(0, 0, None)}


def test_rebuild_equals_the_aggregations_days(world):
    before = _days(AnalyticsDaily, "project", PUBLISHING_FIELDS), _days(MessageDaily, "user", MESSAGE_FIELDS)
    AnalyticsDaily.objects.all().delete()
    MessageDaily.objects.all().delete()
    rebuild(batch_days=1)
    assert (_days(AnalyticsDaily, "project", PUBLISHING_FIELDS), _days(MessageDaily, "user", MESSAGE_FIELDS)) == before


def test_coverage_takes_whole_days_from_days_and_edges_from_hours():
    at = lambda d, h=0: datetime.combine(d, time(h), tzinfo=UTC)  # noqa: E731
    one = date(2025, 3, 3)
    cover = coverage([(at(one, 16), at(one + timedelta(days=7), 16))])
    assert cover.day_runs == [(one + timedelta(days=1), one + timedelta(days=6))]
    assert cover.hour_spans == [
        (at(one, 16), at(one + timedelta(days=1))),
        (at(one + timedelta(days=7)), at(one + timedelta(days=7), 16)),
    ]
    # two buckets meeting at midnight: one run of days, no hours
    cover = coverage(
        [(at(one), at(one + timedelta(days=2))), (at(one + timedelta(days=2)), at(one + timedelta(days=3)))]
    )
    assert cover.day_runs == [(one, one + timedelta(days=2))] and cover.hour_spans == []
    # a bucket with no whole day in it: all hours
    cover = coverage([(at(one, 16), at(one + timedelta(days=1), 16))])
    assert cover.day_runs == [] and cover.hour_spans == [(at(one, 16), at(one + timedelta(days=1), 16))]


def _expected(owner, tz, rng) -> dict:
    buckets: dict = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for row in AnalyticsHourly.objects.filter(project__owner=owner):
        if rng.start <= row.hour_timestamp < rng.end:
            values = buckets[rng.bucket_of(row.hour_timestamp)]
            for name in COUNTS:
                values[name] += getattr(row, name)
    return buckets


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kathmandu"])
@pytest.mark.parametrize("interval", ["day", "week"])
def test_day_and_week_charts_equal_their_hours_with_ragged_edges(owner, world, zone, interval):
    tz = ZoneInfo(zone)
    first, last = (START + timedelta(days=1)).date(), NOW.date()
    # a range of local days: in a zone off UTC its ends cut UTC days
    rng = series_range(first_day=first - timedelta(days=10), last_day=last, interval=interval, tz=tz)
    expected = _expected(owner, tz, rng)
    points = publishing_series(user=owner, rng=rng)
    assert {p["start"]: {n: p[n] for n in COUNTS} for p in points if any(p[n] for n in COUNTS)} == dict(expected)
    totals = {row["project"].pk: row["success"] for row in project_totals(user=owner, rng=rng)}
    by_project: dict = defaultdict(int)
    for row in AnalyticsHourly.objects.filter(
        project__owner=owner, hour_timestamp__gte=rng.start, hour_timestamp__lt=rng.end
    ):
        by_project[row.project_id] += row.posts_success
    assert totals == {pk: by_project.get(pk, 0) for pk in totals} and sum(totals.values()) > 0


def test_a_utc_year_reads_only_day_rows(owner, world):
    rng = series_range(first_day=NOW.date() - timedelta(days=365), last_day=NOW.date(), interval="day", tz=UTC)
    with CaptureQueriesContext(connection) as queries:
        points = publishing_series(user=owner, rng=rng)
        project_totals(user=owner, rng=rng)
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "analytics_daily" in tables and "analytics_hourly" not in tables
    assert sum(p["posts_success"] for p in points) == sum(
        AnalyticsHourly.objects.filter(project__owner=owner).values_list("posts_success", flat=True)
    )


def test_auto_picks_weeks_for_long_ranges():
    assert series_range(first_day=date(2025, 1, 1), last_day=date(2025, 3, 31), tz=UTC).interval == "day"
    year = series_range(first_day=date(2024, 1, 1), last_day=date(2024, 12, 31), tz=UTC)
    assert year.interval == "week"
    starts = [bucket.date() for bucket in year.buckets()]
    assert starts[0] == date(2024, 1, 1) and all(day.weekday() == 0 for day in starts) and len(starts) == 53
