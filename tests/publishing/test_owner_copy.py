"""Tasks and logs carry their project's owner (publishing.models.fill_owners), so the owner's
lists filter and sort on one table; the back office lists them newest first by id with the
shown rows' projects fetched apart, and searches exact keys only."""

from __future__ import annotations

import importlib
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from publishing.factories import tasks_bulk_create
from publishing.models import Project, PublishingLog, PublishingTask
from tests.clock import NOW

TASKS_ADMIN = "/admin/publishing/publishingtask/"
LOGS_ADMIN = "/admin/publishing/publishinglog/"
MESSAGES_ADMIN = "/admin/messaging/message/"


@pytest.fixture
def mine(owner) -> Project:
    return Project.objects.create(owner=owner, name="Mine")


@pytest.fixture
def theirs(other_user) -> Project:
    return Project.objects.create(owner=other_user, name="Theirs")


def test_it_copies_the_owner_on_create_save_and_bulk_create(owner, other_user, mine, theirs):
    created = PublishingTask.objects.create(project=mine, media_path="a", scheduled_at=NOW)
    by_id = PublishingTask(project_id=theirs.pk, media_path="b", scheduled_at=NOW)
    by_id.save()
    assert (created.owner_id, by_id.owner_id) == (owner.pk, other_user.pk)
    bulk = tasks_bulk_create(project=mine, count=3, scheduled_at=NOW)
    assert {t.owner_id for t in PublishingTask.objects.filter(pk__in=[t.pk for t in bulk])} == {owner.pk}
    with CaptureQueriesContext(connection) as captured:
        PublishingLog.objects.bulk_create(
            PublishingLog(task_id=t.pk, project_id=t.project_id, published_at=NOW, status="success")
            for t in [created, by_id, *bulk]
        )
    # One lookup of the projects' owners for the whole batch, not one per row.
    assert len([q for q in captured if "publishing_project" in q["sql"]]) == 1
    owners = dict(PublishingLog.objects.values_list("task_id", "owner_id"))
    assert owners == {created.pk: owner.pk, by_id.pk: other_user.pk, **{t.pk: owner.pk for t in bulk}}


def test_the_owner_lists_read_tasks_and_logs_without_joining_projects(client, owner, mine, theirs, api_client_for):
    for project, label in ((mine, "m"), (theirs, "t")):
        for task in tasks_bulk_create(project=project, count=3, scheduled_at=NOW, label=label):
            PublishingLog.objects.create(task=task, project=project, published_at=NOW, status="success")
    client.force_login(owner)
    api = api_client_for(owner, ["publishing:read"])
    for get, url in (
        (client.get, reverse("publishing:task_list")),
        (client.get, reverse("publishing:log_list")),
        (api.get, "/api/v1/publishing/tasks"),
        (api.get, "/api/v1/publishing/logs"),
    ):
        with CaptureQueriesContext(connection) as captured:
            response = get(url)
        assert response.status_code == 200
        picks = [
            q["sql"]
            for q in captured
            if "ORDER BY" in q["sql"] and "LIMIT" in q["sql"] and re.search(r"FROM \W?publishing_publishing", q["sql"])
        ]
        assert picks, url
        for sql in picks:
            assert " JOIN " not in sql.upper() and "owner_id" in sql, sql
    shown = client.get(reverse("publishing:task_list")).context["page"].rows
    assert {t.project_id for t in shown} == {mine.pk}


@pytest.mark.parametrize("url", [MESSAGES_ADMIN, TASKS_ADMIN, LOGS_ADMIN])
def test_the_changelists_read_their_table_alone_newest_id_first(client, staff, owner, mine, url):
    from tests.messaging.bulk import bulk_messages

    bulk_messages(owner, 3)
    task = PublishingTask.objects.create(project=mine, media_path="a", scheduled_at=NOW)
    PublishingLog.objects.create(task=task, project=mine, published_at=NOW, status="success")
    client.force_login(staff)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200 and response.context["cl"].result_list
    table = response.context["cl"].model._meta.db_table
    rows = [
        q["sql"] for q in captured if "ORDER BY" in q["sql"] and f"FROM {connection.ops.quote_name(table)}" in q["sql"]
    ]
    assert len(rows) == 1
    assert " JOIN " not in rows[0].upper()
    assert re.search(r"ORDER BY \S+\.?\S*id\S* DESC", rows[0]), rows[0]


def test_the_tasks_admin_searches_a_task_number_or_an_exact_owner_email_never_like(
    client, staff, owner, other_user, mine, theirs
):
    own = tasks_bulk_create(project=mine, count=3, scheduled_at=NOW, label="own")
    tasks_bulk_create(project=theirs, count=2, scheduled_at=NOW, label="other")
    client.force_login(staff)
    for term, expected in ((str(own[1].pk), {own[1].pk}), (owner.email.upper(), {t.pk for t in own})):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(TASKS_ADMIN, {"q": term})
        assert {t.pk for t in response.context["cl"].result_list} == expected
        assert not [q for q in captured if re.search(r"LIKE\s+'?%", q["sql"], re.IGNORECASE)]
    assert not client.get(TASKS_ADMIN, {"q": "own"}).context["cl"].result_list


def test_a_projects_owner_is_read_only_in_the_admin(client, staff, mine):
    client.force_login(staff)
    form = client.get(f"/admin/publishing/project/{mine.pk}/change/").context["adminform"].form
    assert "owner" not in form.fields
    assert "owner" in client.get("/admin/publishing/project/add/").context["adminform"].form.fields


@pytest.mark.django_db(transaction=True)
def test_the_backfill_migration_copies_each_projects_owner_in_id_ranges(owner, other_user):
    migration = importlib.import_module("publishing.migrations.0010_task_and_log_owner")
    executor = MigrationExecutor(connection)
    before = [("publishing", "0009_project_google_drive_oauth")]
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        project_model = apps.get_model("publishing", "Project")
        task_model = apps.get_model("publishing", "PublishingTask")
        log_model = apps.get_model("publishing", "PublishingLog")
        projects = [project_model.objects.create(owner_id=u.pk, name="p") for u in (owner, other_user)]
        tasks = [
            task_model.objects.create(project=projects[i % 2], media_path=f"k{i}", scheduled_at=NOW) for i in range(9)
        ]
        log_model.objects.bulk_create(
            log_model(task=tasks[i % 9], project_id=tasks[i % 9].project_id, published_at=NOW, status="success")
            for i in range(25)
        )
        migration.BATCH = 4  # several id ranges, one of them partial
        executor = MigrationExecutor(connection)
        executor.migrate([("publishing", "0010_task_and_log_owner")])
        apps = executor.loader.project_state([("publishing", "0010_task_and_log_owner")]).apps
        for name in ("PublishingTask", "PublishingLog"):
            rows = apps.get_model("publishing", name).objects.select_related("project")
            assert rows.count() in (9, 25)
            assert all(row.owner_id == row.project.owner_id for row in rows), name
    finally:
        migration.BATCH = 10_000
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
