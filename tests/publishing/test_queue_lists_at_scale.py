"""The queue page, the tasks API and the project list/page at scale: keyset pages that pick
ids before reading rows (no task JSON in the sort), per-status counts in one grouped query,
query counts that do not grow with rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from publishing.factories import tasks_bulk_create
from publishing.models import Project, PublishingTask
from tests.clock import NOW

TASKS_URL = "/api/v1/publishing/tasks"


def add_tasks(project: Project, count: int, *, label: str) -> None:
    tasks = tasks_bulk_create(project=project, count=count, scheduled_at=NOW, label=label)
    # Pairs share a time, so the id must break the tie; a few failed and done ones to count.
    for i, task in enumerate(tasks):
        task.scheduled_at = NOW + timedelta(minutes=i // 2)
        task.status = [PublishingTask.Status.PENDING, PublishingTask.Status.SUCCESS, PublishingTask.Status.FAILED][
            i % 3
        ]
    PublishingTask.objects.bulk_update(tasks, ["scheduled_at", "status"], batch_size=1000)


@pytest.fixture
def mine(owner) -> Project:
    return Project.objects.create(owner=owner, name="Mine")


@pytest.fixture
def theirs(other_user) -> Project:
    project = Project.objects.create(owner=other_user, name="Theirs")
    add_tasks(project, 30, label="other")
    return project


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_queue_and_project_queries_do_not_grow_between_100_and_2000_tasks(
    client, owner, mine, theirs, api_client_for, django_assert_max_num_queries
):
    add_tasks(mine, 100, label="a")
    api = api_client_for(owner, ["publishing:read"])
    client.force_login(owner)
    urls = [
        reverse("publishing:task_list"),
        reverse("publishing:task_list") + "?tab=all",
        reverse("publishing:task_list") + "?status=pending",
        reverse("publishing:project_list"),
        reverse("publishing:project_detail", args=[mine.pk]),
    ]
    small = {url: queries_for(client, url) for url in urls}
    small_api = queries_for(api, TASKS_URL)
    add_tasks(mine, 1900, label="b")
    for url in urls:
        with django_assert_max_num_queries(small[url]):
            assert client.get(url).status_code == 200
    with django_assert_max_num_queries(small_api):
        assert api.get(TASKS_URL).status_code == 200


@pytest.mark.parametrize("tab", ["all", "upcoming"])
def test_the_queue_page_walks_every_own_task_once_and_sorts_without_the_json(client, owner, mine, theirs, tab):
    add_tasks(mine, 120 if tab == "all" else 300, label="a")
    client.force_login(owner)
    # Everything newest first; the upcoming tab (the default) the pending ones, soonest first.
    order = ("-scheduled_at", "-id") if tab == "all" else ("scheduled_at", "id")
    shown = PublishingTask.objects.filter(project=mine)
    if tab == "upcoming":
        shown = shown.filter(status=PublishingTask.Status.PENDING)
    expected = list(shown.order_by(*order).values_list("pk", flat=True))
    first = {"tab": tab} if tab == "all" else {}
    seen, params, pages = [], first, []
    while True:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("publishing:task_list"), params)
        page = response.context["page"]
        seen += [task.pk for task in page]
        pages.append([task.pk for task in page])
        assert all(task.project_id == mine.pk for task in page)
        sorted_reads = [q["sql"] for q in captured if "publishing_publishingtask" in q["sql"] and "LIMIT" in q["sql"]]
        assert sorted_reads and not any("content_data" in sql for sql in sorted_reads), sorted_reads
        if page.older is None:
            break
        params = {**first, "after": page.older}
    assert seen == expected
    back = client.get(reverse("publishing:task_list"), {**first, "before": page.newer}).context["page"]
    assert len(pages) >= 2 and [task.pk for task in back] == pages[-2]


def test_the_tasks_api_pages_by_cursor_without_count_or_json_in_the_sort(owner, mine, theirs, api_client_for):
    add_tasks(mine, 120, label="a")
    api = api_client_for(owner, ["publishing:read"])
    seen, url = [], TASKS_URL
    while url:
        with CaptureQueriesContext(connection) as captured:
            body = api.get(url).json()
        assert "count" not in body
        sorted_reads = [q["sql"] for q in captured if "publishing_publishingtask" in q["sql"] and "LIMIT" in q["sql"]]
        assert sorted_reads and not any("content_data" in sql for sql in sorted_reads), sorted_reads
        assert all("text" in row and "content_data" in row for row in body["results"])
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    expected = list(
        PublishingTask.objects.filter(project=mine).order_by("-scheduled_at", "-id").values_list("pk", flat=True)
    )
    assert seen == expected


@pytest.mark.parametrize("tasks", [30, 600])
def test_the_project_pages_read_kept_counts_not_the_tasks(
    client, owner, mine, theirs, tasks, django_assert_max_num_queries
):
    """The per-status counts come from ProjectTaskCount (one read for the shown projects): no
    query of the projects page or a project's page reads the tasks table, however many there are."""
    add_tasks(mine, tasks, label="a")
    add_tasks(theirs, 9, label="b")
    Project.objects.create(owner=owner, name="Empty")
    client.force_login(owner)
    # 4, and the pause banner's read (cached per owner for a minute) on a test's first page.
    with django_assert_max_num_queries(5), CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("publishing:project_list"))
    third = tasks // 3
    projects = {p.name: (p.pending, p.published, p.failed) for p in response.context["projects"]}
    assert projects == {"Mine": (third, third, third), "Empty": (0, 0, 0)}
    assert not [q["sql"] for q in captured if "publishing_publishingtask" in q["sql"]]
    # Seven: the project, its kept counts, the session and user, its sources, alerts and connected network accounts.
    with django_assert_max_num_queries(7), CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("publishing:project_detail", args=[mine.pk]))
    assert response.context["counts"] == {"pending": third, "success": third, "failed": third}
    assert not [q["sql"] for q in captured if "publishing_publishingtask" in q["sql"]]


def test_the_tasks_admin_counts_no_whole_table(client, staff, mine):
    add_tasks(mine, 60, label="a")
    client.force_login(staff)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/admin/publishing/publishingtask/", {"status": "pending"})
    assert response.status_code == 200 and len(response.context["cl"].result_list) == 20
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper() and "publishing_publishingtask" in q["sql"]]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
