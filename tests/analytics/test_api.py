"""Series API: hourly and daily, per project, all projects and messages; scoped to the key's owner."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import time_machine

from analytics.aggregate import hourly_aggregate
from publishing.models import PublishingLog
from tests.analytics.factories import NOW, make_message, make_project, make_tasks, random_status_logs

SCOPE = ["analytics:read"]
LogStatus = PublishingLog.Status
ErrorKind = PublishingLog.ErrorKind


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def data(owner, other_user):
    mine, theirs = make_project(owner, "Mine"), make_project(other_user, "Theirs")
    task, other_task = make_tasks(mine, 1)[0], make_tasks(theirs, 1)[0]
    PublishingLog.objects.bulk_create(
        [
            PublishingLog(
                task=task,
                project_id=task.project_id,
                published_at=NOW - timedelta(hours=2),
                status=LogStatus.SUCCESS,
                duration_seconds=1.0,
            )
        ]
        + [
            PublishingLog(
                task=task,
                project_id=task.project_id,
                published_at=NOW - timedelta(hours=1),
                status=LogStatus.SUCCESS,
                duration_seconds=3.0,
            )
        ]
        + [
            PublishingLog(
                task=task,
                project_id=task.project_id,
                published_at=NOW - timedelta(days=1),
                status=LogStatus.FAILED,
                error_kind=ErrorKind.AUTH,
            )
        ]
        + [
            PublishingLog(
                task=other_task,
                project_id=other_task.project_id,
                published_at=NOW - timedelta(hours=1),
                status=LogStatus.SUCCESS,
            )
            for _ in range(9)
        ]
    )
    random_status_logs(random.Random(2), [make_message(owner)], start=NOW - timedelta(hours=5), hours=4, count=30)
    random_status_logs(random.Random(3), [make_message(other_user)], start=NOW - timedelta(hours=5), hours=4, count=70)
    hourly_aggregate(since=NOW - timedelta(days=3), until=NOW + timedelta(hours=1))
    return mine, theirs


def test_project_hourly(api_client_for, owner, data):
    mine, _ = data
    response = api_client_for(owner, SCOPE).get(
        f"/api/v1/analytics/projects/{mine.pk}/hourly", {"from": "2025-03-10", "to": "2025-03-10"}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["interval"] == "hour" and body["project"] == mine.pk and len(body["series"]) == 24
    by_start = {point["start"]: point for point in body["series"]}
    assert by_start["2025-03-10T10:00:00+00:00"]["posts_success"] == 1
    assert by_start["2025-03-10T11:00:00+00:00"]["avg_duration"] == 3.0
    assert by_start["2025-03-10T00:00:00+00:00"]["avg_duration"] is None


def test_project_daily_combines_hours(api_client_for, owner, data):
    mine, _ = data
    response = api_client_for(owner, SCOPE).get(f"/api/v1/analytics/projects/{mine.pk}/daily")
    body = response.json()
    assert body["interval"] == "day" and len(body["series"]) == 7 and body["to"] == "2025-03-10"
    today, yesterday = body["series"][-1], body["series"][-2]
    assert (today["posts_success"], today["avg_duration"]) == (2, 2.0)
    assert (yesterday["posts_failed"], yesterday["failures_auth"]) == (1, 1)


def test_account_wide_and_messages_are_mine_only(api_client_for, owner, data):
    client = api_client_for(owner, SCOPE)
    series = client.get("/api/v1/analytics/publishing/daily").json()["series"]
    assert sum(p["posts_success"] for p in series) == 2
    messages = client.get("/api/v1/analytics/messages/hourly", {"from": "2025-03-10", "to": "2025-03-10"}).json()
    assert sum(sum(v for k, v in p.items() if k != "start") for p in messages["series"]) == 30


def test_another_users_project_is_404(api_client_for, owner, data):
    _, theirs = data
    response = api_client_for(owner, SCOPE).get(f"/api/v1/analytics/projects/{theirs.pk}/hourly")
    assert response.status_code == 404


def test_the_scope_is_needed(api_client_for, owner, data):
    response = api_client_for(owner, ["publishing:read"]).get("/api/v1/analytics/publishing/hourly")
    assert response.status_code == 403
    assert "analytics:read" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "url, params, field, reason",
    [
        ("publishing/hourly", {"from": "2025-03-10", "to": "2025-03-01"}, "to", "on or after"),
        ("publishing/hourly", {"from": "2025-01-01", "to": "2025-03-10"}, "from", "at most 31 days"),
        ("messages/daily", {"from": "2019-01-01"}, "from", "at most 366 days"),
        ("messages/daily", {"to": "tomorrow"}, "to", "Date has wrong format"),
        # Days at the ends of the calendar overflowed (a 500) when moved to UTC or by a day.
        ("messages/daily", {"to": "0001-01-01"}, "to", "between 2000-01-01 and 2999-12-31"),
        ("publishing/hourly", {"from": "9999-12-30", "to": "9999-12-31"}, "from", "between 2000-01-01"),
    ],
)
def test_bad_ranges_are_400_with_field_and_reason(api_client_for, owner, data, url, params, field, reason):
    response = api_client_for(owner, SCOPE).get(f"/api/v1/analytics/{url}", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["fields"] and reason in error["fields"][field][0]


def test_query_counts_are_flat(api_client_for, owner, data, django_assert_max_num_queries):
    mine, _ = data
    client = api_client_for(owner, SCOPE)
    tasks = make_tasks(mine, 3)
    PublishingLog.objects.bulk_create(
        PublishingLog(
            task=tasks[i % 3], project_id=mine.pk, published_at=NOW - timedelta(minutes=7 * i), status=LogStatus.SUCCESS
        )
        for i in range(1000)
    )
    hourly_aggregate(since=NOW - timedelta(days=7), until=NOW + timedelta(hours=1))
    for url in ("publishing/hourly", "publishing/daily", "messages/hourly", f"projects/{mine.pk}/daily"):
        with django_assert_max_num_queries(5):
            assert client.get(f"/api/v1/analytics/{url}").status_code == 200
