"""Statistics per network on the pages, the CSV and the API (issue 19): the per-network chart
with its legend and table, the network filter, a 400 naming the field for a network that is
not one, the owner's rows only, and as many queries with three networks as with one."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.aggregate import hourly_aggregate
from publishing.factories import tasks_bulk_create
from publishing.models import NetworkAccount, PublishingLog
from tests.analytics.factories import NOW, make_project

SCOPE = ["analytics:read"]
HOUR = NOW - timedelta(hours=2)
# Published posts per network in the owner's project: X 3, Mastodon 5, Bluesky 7.
PUBLISHED = {"x": 3, "mastodon": 5, "bluesky": 7}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _logs(project, counts: dict, *, failed_on: str = "") -> None:
    rows = []
    for network, count in counts.items():
        account = None
        if network != "x":
            account = NetworkAccount.objects.create(
                project=project, network=network, handle=f"{project.pk}-{network}", instance_url="https://m.example"
            )
        task = tasks_bulk_create(project=project, count=1, scheduled_at=NOW, account=account)[0]
        rows += [
            PublishingLog(task=task, project_id=project.pk, published_at=HOUR, status="success", duration_seconds=2.0)
            for _ in range(count)
        ]
        if network == failed_on:
            rows.append(
                PublishingLog(
                    task=task, project_id=project.pk, published_at=HOUR, status="failed", error_kind="rate_limit"
                )
            )
    PublishingLog.objects.bulk_create(rows)


@pytest.fixture
def projects(owner, other_user):
    mine, theirs = make_project(owner, "Mine"), make_project(other_user, "Theirs-secret")
    _logs(mine, PUBLISHED, failed_on="bluesky")
    _logs(theirs, {"x": 40, "mastodon": 50, "bluesky": 60})
    hourly_aggregate(since=NOW - timedelta(days=1), until=NOW + timedelta(hours=1))
    return mine, theirs


def test_the_dashboard_charts_published_posts_per_network(client, owner, projects):
    client.force_login(owner)
    body = client.get(reverse("analytics:dashboard")).content.decode()
    assert "Published posts per day by network" in body
    # The description names each network's total; the legend lists them; the table has their columns.
    assert "X: 3, Mastodon: 5, Bluesky: 7" in body
    legend = body.split('id="pub-networks"')[1].split("</ul>")[0]
    assert [part.split("</span>")[0] for part in legend.split("<span>")[1:]] == ["X", "Mastodon", "Bluesky"]
    table = body.split('id="pub-networks"')[1].split("</thead>")[0]
    assert ">X</th>" in table and ">Mastodon</th>" in table and ">Bluesky</th>" in table and ">Total</th>" in table
    assert "Published: 15" in body  # the totals chart: every network's posts
    assert "Theirs-secret" not in body and "Mastodon: 50" not in body


def test_the_network_filter_shows_one_networks_figures(client, owner, projects):
    mine, _ = projects
    client.force_login(owner)
    body = client.get(reverse("analytics:dashboard"), {"network": "bluesky"}).content.decode()
    assert "Publishing figures on Bluesky only." in body
    assert "Published: 7, Failed: 1" in body and "Rate limited: 1" in body
    assert "X: 0, Mastodon: 0, Bluesky: 7" in body
    assert '<option value="bluesky" selected>' in body
    # The projects' table follows the filter.
    row = body.split('id="project-totals"')[1].split("</tbody>")[0]
    assert "<td>7</td><td>1</td><td>0</td>" in row
    page = client.get(reverse("analytics:project_detail", args=[mine.pk]), {"network": "mastodon"})
    assert "Published: 5, Failed: 0" in page.content.decode()


def test_a_network_that_is_not_one_is_a_form_error(client, owner, projects):
    client.force_login(owner)
    response = client.get(reverse("analytics:dashboard"), {"network": "myspace"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    export = client.get(reverse("analytics:publishing_export"), {"network": "myspace"})
    assert export.status_code == 400 and export.content.decode().startswith("network: Select a valid choice")


def test_the_csv_has_a_row_per_network_and_takes_the_filter(client, owner, projects):
    client.force_login(owner)
    rows = list(csv.DictReader(io.StringIO(_body(client.get(reverse("analytics:publishing_export"))))))
    assert {row["network"]: int(row["posts_success"]) for row in rows} == PUBLISHED
    one = list(
        csv.DictReader(io.StringIO(_body(client.get(reverse("analytics:publishing_export"), {"network": "mastodon"}))))
    )
    assert [(row["network"], row["posts_success"]) for row in one] == [("mastodon", "5")]


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_the_dashboard_reads_three_networks_in_as_many_queries_as_one(client, owner, other_user):
    client.force_login(owner)
    _logs(make_project(owner, "x only"), {"x": 2})
    hourly_aggregate(since=NOW - timedelta(days=1), until=NOW + timedelta(hours=1))
    client.get(reverse("analytics:dashboard"))  # the session's first request does more (MariaDB: one query)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("analytics:dashboard")).status_code == 200
    for index in range(4):
        _logs(make_project(owner, f"three {index}"), PUBLISHED)
    hourly_aggregate(since=NOW - timedelta(days=1), until=NOW + timedelta(hours=1))
    with CaptureQueriesContext(connection) as three:
        body = client.get(reverse("analytics:dashboard")).content.decode()
    assert "X: 14, Mastodon: 20, Bluesky: 28" in body
    assert len(three.captured_queries) == len(one.captured_queries)


def test_the_api_gives_each_network_and_filters_by_one(api_client_for, owner, projects):
    mine, _ = projects
    client = api_client_for(owner, SCOPE)
    body = client.get("/api/v1/analytics/publishing/hourly", {"from": NOW.date().isoformat()}).json()
    assert body["network"] is None
    point = next(p for p in body["series"] if p["posts_success"])
    assert {n: v["posts_success"] for n, v in point["networks"].items()} == PUBLISHED
    assert point["networks"]["bluesky"]["failures_rate_limit"] == 1
    assert point["networks"]["mastodon"]["avg_duration"] == 2.0
    one = client.get(f"/api/v1/analytics/projects/{mine.pk}/daily", {"network": "mastodon"}).json()
    assert one["network"] == "mastodon"
    assert sum(p["posts_success"] for p in one["series"]) == 5
    assert sum(p["networks"]["x"]["posts_success"] for p in one["series"]) == 0


def test_the_api_refuses_a_network_that_is_not_one_with_the_field(api_client_for, owner, projects):
    response = api_client_for(owner, SCOPE).get("/api/v1/analytics/publishing/daily", {"network": "myspace"})
    assert response.status_code == 400
    assert "network" in response.json()["error"]["fields"]
