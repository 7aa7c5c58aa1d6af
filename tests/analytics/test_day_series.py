"""Day charts are summed per local day by the database: a year equals its hourly sums, in any zone."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.models import AnalyticsHourly, MessageHourly
from analytics.rollup import rebuild
from analytics.selectors import message_series, publishing_series, series_range
from tests.analytics.factories import make_project

FIRST_DAY, LAST_DAY = date(2024, 3, 10), date(2025, 3, 9)  # 365 days, both DST changes of 2024


@pytest.fixture
def a_year(owner, other_user):
    project = make_project(owner, "Year")
    start = FIRST_DAY - timedelta(days=1)  # a day either side, so the zone's edges have rows outside
    rows, messages = [], []
    moment = datetime.combine(start, time(), tzinfo=UTC)
    end = datetime.combine(LAST_DAY + timedelta(days=2), time(), tzinfo=UTC)
    index = 0
    while moment < end:
        success = index % 7
        rows.append(
            AnalyticsHourly(
                project=project,
                hour_timestamp=moment,
                posts_success=success,
                posts_failed=index % 3,
                avg_duration=(1.0 + index % 5) if success else None,
                failures_network=index % 2,
            )
        )
        messages.append(MessageHourly(user=owner, hour_timestamp=moment, warnings_1=index % 4, deliveries=1))
        index += 1
        moment += timedelta(hours=1)
    AnalyticsHourly.objects.bulk_create(rows, batch_size=2000)
    MessageHourly.objects.bulk_create(messages, batch_size=2000)
    theirs = make_project(other_user, "Theirs")
    AnalyticsHourly.objects.bulk_create(
        AnalyticsHourly(project=theirs, hour_timestamp=row.hour_timestamp, posts_success=1000) for row in rows[:500]
    )
    rebuild()  # hour rows written directly: their days rolled up as the aggregation does
    return project, rows, messages


def _by_local_day(rows, tz, fields):
    days = defaultdict(lambda: dict.fromkeys(fields, 0))
    for row in rows:
        day = row.hour_timestamp.astimezone(tz).date()
        if FIRST_DAY <= day <= LAST_DAY:
            for name in fields:
                days[day][name] += getattr(row, name) or 0
    return days


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"])
def test_a_years_day_chart_equals_the_hourly_sums_per_local_day(owner, a_year, zone):
    project, rows, messages = a_year
    tz = ZoneInfo(zone)
    rng = series_range(first_day=FIRST_DAY, last_day=LAST_DAY, interval="day", tz=tz)
    fields = ["posts_success", "posts_failed", "failures_network"]
    expected = _by_local_day(rows, tz, fields)
    for points in (publishing_series(user=owner, rng=rng), publishing_series(user=owner, rng=rng, project=project)):
        assert len(points) == 365
        assert [point["start"].date() for point in points] == sorted(expected)
        assert [{name: point[name] for name in fields} for point in points] == [expected[d] for d in sorted(expected)]
        # the mean duration is weighted by the successes, as the hourly chart combines hours
        day = points[100]["start"].date()
        hours = [r for r in rows if r.hour_timestamp.astimezone(tz).date() == day]
        weighted = sum((r.avg_duration or 0) * r.posts_success for r in hours) / sum(r.posts_success for r in hours)
        assert points[100]["avg_duration"] == round(weighted, 3)
    assert sum(point["posts_success"] for point in points) == sum(day["posts_success"] for day in expected.values())
    message_expected = _by_local_day(messages, tz, ["warnings_1", "deliveries"])
    message_points = message_series(user=owner, rng=rng)
    assert [(p["warnings_1"], p["deliveries"]) for p in message_points] == [
        (message_expected[d]["warnings_1"], message_expected[d]["deliveries"]) for d in sorted(message_expected)
    ]
    # one row per hour: the year's total is its local hours (DST days have 23 or 25)
    assert sum(p["deliveries"] for p in message_points) == sum(
        1 for r in messages if FIRST_DAY <= r.hour_timestamp.astimezone(tz).date() <= LAST_DAY
    )


def test_a_day_chart_is_grouped_by_local_day_in_one_query(owner, a_year):
    rng = series_range(first_day=FIRST_DAY, last_day=LAST_DAY, interval="day", tz=ZoneInfo("Europe/Berlin"))
    short = series_range(first_day=LAST_DAY - timedelta(days=6), last_day=LAST_DAY, interval="day", tz=rng.tz)
    for each in (short, rng):
        with CaptureQueriesContext(connection) as queries:
            publishing_series(user=owner, rng=each)
        assert len(queries.captured_queries) == 1
        # grouped by the day in SQL (366 rows for a year), not by the hour (8,784) and regrouped in Python
        assert queries.captured_queries[0]["sql"].upper().startswith("SELECT FLOOR(")
