"""The logs page, the logs API and the logs admin at scale: one table for ownership
(PublishingLog.project), keyset pages, no COUNT over the whole table, query counts that do
not grow with rows."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from publishing.factories import tasks_bulk_create
from publishing.models import Project, PublishingLog
from tests.clock import NOW

LOGS_URL = "/api/v1/publishing/logs"
ADMIN_URL = "/admin/publishing/publishinglog/"


def add_logs(project: Project, count: int, *, start: int = 0, tweet: str = "t") -> None:
    tasks = tasks_bulk_create(project=project, count=5, scheduled_at=NOW, label=f"{tweet}{start}")
    PublishingLog.objects.bulk_create(
        (
            PublishingLog(
                task=tasks[i % 5],
                project=project,
                tweet_id=f"{tweet}{i}",
                tweet_content=f"post {tweet}{i}",
                # Pairs share a timestamp, so the id must break the tie.
                published_at=NOW - timedelta(minutes=(i // 2)),
                status=PublishingLog.Status.SUCCESS,
            )
            for i in range(start, start + count)
        ),
        batch_size=1000,
    )


@pytest.fixture
def mine(owner) -> Project:
    return Project.objects.create(owner=owner, name="Mine")


@pytest.fixture
def theirs(other_user) -> Project:
    project = Project.objects.create(owner=other_user, name="Theirs")
    add_logs(project, 30, tweet="other-")
    return project


def queries_for(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_log_queries_do_not_grow_between_100_and_2000_rows(
    client, owner, staff, mine, theirs, api_client_for, django_assert_max_num_queries
):
    add_logs(mine, 100)
    api = api_client_for(owner, ["publishing:read"])
    client.force_login(owner)
    page = queries_for(client, reverse("publishing:log_list"))
    api_calls = queries_for(api, LOGS_URL)
    client.force_login(staff)
    admin = queries_for(client, ADMIN_URL)
    add_logs(mine, 1900, start=100)
    client.force_login(owner)
    with django_assert_max_num_queries(page):
        assert client.get(reverse("publishing:log_list")).status_code == 200
    with django_assert_max_num_queries(api_calls):
        assert api.get(LOGS_URL).status_code == 200
    client.force_login(staff)
    with django_assert_max_num_queries(admin):
        assert client.get(ADMIN_URL).status_code == 200


def test_the_logs_page_walks_every_own_row_once_by_keyset_and_never_shows_another_users(client, owner, mine, theirs):
    add_logs(mine, 120)
    client.force_login(owner)
    seen, params = [], {}
    while True:
        response = client.get(reverse("publishing:log_list"), params)
        page = response.context["page"]
        seen += [log.pk for log in page]
        assert all(log.project_id == mine.pk for log in page)
        assert "other-" not in response.content.decode()
        if page.older is None:
            break
        params = {"after": page.older}
    expected = list(
        PublishingLog.objects.filter(project=mine).order_by("-published_at", "-id").values_list("pk", flat=True)
    )
    assert seen == expected
    # Back up one page from the last: the rows just before it, in the same order.
    back = client.get(reverse("publishing:log_list"), {"before": page.newer}).context["page"]
    assert [log.pk for log in back] == expected[50:100]
    # A cursor naming another user's log is the first page, not a window into theirs.
    foreign = PublishingLog.objects.filter(project=theirs).first().pk
    first = client.get(reverse("publishing:log_list"), {"after": foreign}).context["page"]
    assert [log.pk for log in first] == expected[:50]


def test_the_logs_api_pages_by_cursor_without_count_and_only_own_rows(owner, mine, theirs, api_client_for):
    add_logs(mine, 120)
    api = api_client_for(owner, ["publishing:read"])
    seen, url = [], LOGS_URL
    while url:
        body = api.get(url).json()
        assert "count" not in body
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    expected = list(
        PublishingLog.objects.filter(project=mine).order_by("-published_at", "-id").values_list("pk", flat=True)
    )
    assert seen == expected


def test_the_logs_admin_counts_no_whole_table_and_searches_exact_keys(client, staff, mine, theirs):
    add_logs(mine, 200)
    client.force_login(staff)
    for params in ({}, {"q": "t7"}, {"status": "success"}):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(ADMIN_URL, params).status_code == 200
        counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper() and "publishing_publishinglog" in q["sql"]]
        assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
        assert not any("LIKE" in q["sql"].upper() for q in captured if "publishing_publishinglog" in q["sql"])
    found = client.get(ADMIN_URL, {"q": "t7"}).context["cl"].result_list
    assert [log.tweet_id for log in found] == ["t7"]
    task_id = PublishingLog.objects.get(tweet_id="t7").task_id
    by_task = client.get(ADMIN_URL, {"q": str(task_id)}).context["cl"].result_list
    assert {log.task_id for log in by_task} == {task_id} and len(by_task) == 40


@pytest.mark.django_db(transaction=True)
def test_the_backfill_migration_sets_each_logs_project_from_its_task(owner):
    migration = importlib.import_module("publishing.migrations.0005_log_project")
    executor = MigrationExecutor(connection)
    target = [("publishing", "0005_log_project")]
    executor.migrate(target)
    try:
        apps = executor.loader.project_state(target).apps
        project_model = apps.get_model("publishing", "Project")
        task_model = apps.get_model("publishing", "PublishingTask")
        log_model = apps.get_model("publishing", "PublishingLog")
        projects = [project_model.objects.create(owner_id=owner.pk, name=f"p{i}") for i in range(2)]
        tasks = [
            task_model.objects.create(project=projects[i % 2], media_path=f"k{i}", scheduled_at=NOW) for i in range(4)
        ]
        log_model.objects.bulk_create(
            log_model(task=tasks[i % 4], published_at=NOW, status="success") for i in range(25)
        )
        assert log_model.objects.filter(project__isnull=True).count() == 25
        migration.BATCH = 7  # several id ranges, one of them partial
        with connection.schema_editor() as editor:
            migration.backfill_log_project(apps, editor)
        assert not log_model.objects.filter(project__isnull=True).exists()
        assert all(log.project_id == log.task.project_id for log in log_model.objects.select_related("task"))
    finally:
        migration.BATCH = 10_000
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
