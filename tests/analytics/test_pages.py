"""Statistics pages: charts, the range picker, CSV, and only the viewer's own numbers."""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from analytics.aggregate import hourly_aggregate
from publishing.models import PublishingLog
from tests.analytics.factories import (
    NOW,
    make_message,
    make_project,
    make_tasks,
    random_publishing_logs,
    random_status_logs,
)

LogStatus = PublishingLog.Status
ErrorKind = PublishingLog.ErrorKind


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def projects(owner, other_user):
    mine = make_project(owner, "Mine")
    theirs = make_project(other_user, "Theirs-secret")
    task = make_tasks(mine, 1)[0]
    other_task = make_tasks(theirs, 1)[0]
    hour = NOW - timedelta(hours=2)
    PublishingLog.objects.bulk_create(
        [
            PublishingLog(
                task=task, project_id=task.project_id, published_at=hour, status=LogStatus.SUCCESS, duration_seconds=2.0
            )
            for _ in range(3)
        ]
        + [
            PublishingLog(
                task=task,
                project_id=task.project_id,
                published_at=hour,
                status=LogStatus.FAILED,
                error_kind=ErrorKind.RATE_LIMIT,
            )
        ]
        + [
            PublishingLog(
                task=other_task, project_id=other_task.project_id, published_at=hour, status=LogStatus.SUCCESS
            )
            for _ in range(50)
        ]
    )
    hourly_aggregate(since=NOW - timedelta(days=1), until=NOW + timedelta(hours=1))
    return mine, theirs


def test_dashboard_shows_my_charts_only(client, owner, projects):
    client.force_login(owner)
    response = client.get(reverse("analytics:dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    # posts, per network, duration, failure kinds; message activity, warning levels
    assert body.count('<figure class="chart"') == 6
    assert body.count('class="chart-svg ') == 12  # each drawn wide and narrow
    assert "Published: 3" in body and "Failed: 1" in body
    assert "Theirs-secret" not in body and "Published: 50" not in body


def test_project_page(client, owner, projects):
    mine, theirs = projects
    client.force_login(owner)
    response = client.get(
        reverse("analytics:project_detail", args=[mine.pk]), {"from": "2025-03-10", "to": "2025-03-10"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Posts per hour by outcome" in body
    assert "Rate limited: 1" in body
    assert "Seconds: 2" in body


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns"])
def test_hourly_charts_count_every_row_in_a_zone_off_by_a_fraction_of_an_hour(client, owner, projects, zone):
    # Local hours there are not UTC hours: the rows matched no bucket and the chart was empty.
    owner.time_zone = zone
    owner.save()
    client.force_login(owner)
    response = client.get(
        reverse("analytics:dashboard"), {"from": "2025-03-10", "to": "2025-03-10", "interval": "hour"}
    )
    body = response.content.decode()
    assert "Posts per hour by outcome" in body
    assert "Published: 3," in body and "Rate limited: 1," in body


def test_another_users_project_is_404(client, owner, projects):
    _mine, theirs = projects
    client.force_login(owner)
    assert client.get(reverse("analytics:project_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("analytics:project_export", args=[theirs.pk])).status_code == 404


def test_pages_need_login(client, projects):
    response = client.get(reverse("analytics:dashboard"))
    assert response.status_code == 302 and "/accounts/" in response["Location"]


@pytest.mark.parametrize(
    "params, error",
    [
        ({"from": "2025-03-10", "to": "2025-03-01"}, "The end date must be on or after the start date."),
        ({"from": "not-a-date"}, "Enter a valid date."),
        ({"from": "2020-01-01", "to": "2025-03-10"}, "at most 366 days"),
        ({"from": "2025-01-01", "to": "2025-03-10", "interval": "hour"}, "at most 31 days"),
        # Days at the ends of the calendar overflowed (a 500) when moved to UTC or by a day.
        ({"to": "0001-01-01"}, "Choose a date between 2000-01-01 and 2999-12-31."),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "Choose a date between 2000-01-01 and 2999-12-31."),
    ],
)
def test_bad_ranges_show_form_errors_and_no_charts_of_another_range(client, owner, projects, params, error):
    client.force_login(owner)
    for url in (reverse("analytics:dashboard"), reverse("analytics:project_detail", args=[projects[0].pk])):
        response = client.get(url, params)
        page = response.content.decode()
        assert response.status_code == 400
        assert error in page
        assert 'id="range-invalid"' in page
        assert "<svg" not in page  # not the default week's charts, as if they were the range asked for


def test_csv_export_is_mine_only(client, owner, projects):
    client.force_login(owner)
    response = client.get(reverse("analytics:publishing_export"), {"from": "2025-03-09", "to": "2025-03-10"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["project"], row["posts_success"], row["failures_rate_limit"]) for row in rows] == [("Mine", "3", "1")]
    assert rows[0]["hour_utc"] == "2025-03-10T10:00:00+00:00"


def test_message_csv(client, owner, projects):
    message = make_message(owner)
    random_status_logs(random.Random(1), [message], start=NOW - timedelta(hours=3), hours=2, count=20)
    hourly_aggregate(since=NOW - timedelta(hours=4), until=NOW)
    client.force_login(owner)
    response = client.get(reverse("analytics:messages_export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sum(sum(int(v) for k, v in row.items() if k != "hour_utc") for row in rows) == 20


def _grow(owner, projects_count: int, logs: int) -> None:
    rng = random.Random(projects_count)
    tasks = []
    for index in range(projects_count):
        tasks += make_tasks(make_project(owner, f"grown-{index}"), 2)
    random_publishing_logs(rng, tasks, start=NOW - timedelta(days=6), hours=6 * 24, count=logs)
    random_status_logs(rng, [make_message(owner)], start=NOW - timedelta(days=6), hours=6 * 24, count=logs // 4)
    hourly_aggregate(since=NOW - timedelta(days=7), until=NOW + timedelta(hours=1))


# The pause banner (messaging.pauses.banner_for) reads the owner's pauses once, then keeps
# the answer in the cache for a minute: the first page of a test may pay that one query.
BANNER = 1


@pytest.mark.parametrize("projects_count, logs", [(1, 10), (8, 1500)])
def test_query_counts_do_not_grow_with_rows(client, owner, django_assert_max_num_queries, projects_count, logs):
    _grow(owner, projects_count, logs)
    project = owner.projects.first()
    client.force_login(owner)
    with django_assert_max_num_queries(6 + BANNER):
        assert client.get(reverse("analytics:dashboard")).status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(reverse("analytics:project_detail", args=[project.pk])).status_code == 200
    with django_assert_max_num_queries(5):
        response = client.get(reverse("analytics:publishing_export"))
        b"".join(response.streaming_content)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
@pytest.mark.parametrize("projects_count, logs", [(1, 10), (8, 1500)])
def test_a_years_pages_make_the_same_queries_however_many_rows(
    client, owner, django_assert_max_num_queries, projects_count, logs, zone
):
    """A year per week or per day reads the day roll-ups and the ragged hours: a fixed number of
    queries (two tables per series at most) whatever the rows or the zone."""
    owner.time_zone = zone
    owner.save(update_fields=["time_zone"])
    _grow(owner, projects_count, logs)
    project = owner.projects.first()
    client.force_login(owner)
    year = {"from": (NOW - timedelta(days=365)).date().isoformat(), "to": NOW.date().isoformat()}
    for interval in ("auto", "day", "week"):
        with django_assert_max_num_queries(9 + BANNER):
            assert client.get(reverse("analytics:dashboard"), {**year, "interval": interval}).status_code == 200
        with django_assert_max_num_queries(6):
            url = reverse("analytics:project_detail", args=[project.pk])
            assert client.get(url, {**year, "interval": interval}).status_code == 200
    with django_assert_max_num_queries(5):
        response = client.get(reverse("analytics:publishing_export"), {**year, "interval": "day"})
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sum(int(row["posts_success"]) for row in rows) == sum(
        owner.projects.values_list("hourly_stats__posts_success", flat=True).exclude(hourly_stats__isnull=True)
    )
