"""Pages, API and admin: owner scoping, bad input, and credentials never shown."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from publishing.models import Project, PublishingLog, PublishingTask
from publishing.runner import publish_due
from publishing.services import project_create, task_create

from .conftest import SECRETS


@pytest.fixture
def task(project):
    return task_create(project=project, text="Hello world", scheduled_at=timezone.now() - timedelta(minutes=1))


def test_it_shows_projects_queue_and_logs_to_the_owner(client, owner, project, task):
    publish_due(run_seconds=5)
    client.force_login(owner)
    assert "Cats" in client.get(reverse("publishing:project_list")).content.decode()
    assert "Hello world" in client.get(reverse("publishing:task_list") + "?status=success").content.decode()
    assert "Hello world" not in client.get(reverse("publishing:task_list") + "?status=pending").content.decode()
    logs = client.get(reverse("publishing:log_list")).content.decode()
    assert "Hello world" in logs and "dry run" in logs


def test_outsiders_see_and_touch_nothing(client, other_user, project, task, folder_source):
    client.force_login(other_user)
    assert "Cats" not in client.get(reverse("publishing:project_list")).content.decode()
    assert "Hello world" not in client.get(reverse("publishing:task_list")).content.decode()
    assert client.get(reverse("publishing:project_detail", args=[project.pk])).status_code == 404
    assert client.post(reverse("publishing:task_action", args=[task.pk, "cancel"])).status_code == 404
    assert client.post(reverse("publishing:source_scan", args=[folder_source.pk])).status_code == 404
    assert client.post(reverse("publishing:project_credentials", args=[project.pk]), SECRETS).status_code == 404
    task.refresh_from_db()
    assert task.status == PublishingTask.Status.PENDING


def test_queue_actions_on_the_page(client, owner, task):
    client.force_login(owner)
    client.post(reverse("publishing:task_action", args=[task.pk, "change"]), {"priority": "7"})
    task.refresh_from_db()
    assert task.priority == 7 and task.version == 2
    client.post(reverse("publishing:task_action", args=[task.pk, "cancel"]))
    client.post(reverse("publishing:task_action", args=[task.pk, "retry"]))
    task.refresh_from_db()
    assert task.status == PublishingTask.Status.PENDING and task.version == 4


@pytest.mark.parametrize("back", ["-1", "change", "https://evil.example/", "//evil.example/", "\x00"])
def test_a_row_action_with_a_bad_next_goes_back_to_the_queue(client, owner, task, back):
    # A bare word was taken for a view name: NoReverseMatch, a 500.
    client.force_login(owner)
    response = client.post(reverse("publishing:task_action", args=[task.pk, "change"]), {"priority": "1", "next": back})
    assert response.status_code == 302 and response["Location"] == reverse("publishing:task_list")


def test_the_queue_keeps_its_project_filter_through_filtering_paging_and_actions(
    client, owner, project, task, monkeypatch
):
    # The status filter, the page links and the row buttons all dropped ?project=.
    other = project_create(owner=owner, name="Dogs")
    task_create(project=other, text="Dog of the day")
    task_create(project=project, text="Second cat")
    monkeypatch.setattr("publishing.views.PAGE_SIZE", 1)
    client.force_login(owner)
    url = reverse("publishing:task_list") + f"?status=pending&project={project.pk}"
    page = client.get(url).content.decode()
    assert f'<input type="hidden" name="project" value="{project.pk}"' in page
    assert f"status=pending&amp;project={project.pk}&amp;after=" in page
    here = f'name="next" value="{reverse("publishing:task_list")}?status=pending&amp;project={project.pk}"'
    assert here in page

    response = client.post(reverse("publishing:task_action", args=[task.pk, "cancel"]), {"next": url})
    assert response.status_code == 302 and response["Location"] == url


def test_the_settings_form_still_saves_after_a_refused_source(client, owner, project, media_root):
    # The refused source re-renders the page at .../sources/; the settings form had no
    # action, so its Save posted there and was lost as an invalid source.
    client.force_login(owner)
    response = client.post(
        reverse("publishing:source_add", args=[project.pk]),
        {"source_type": "local_folder", "path_or_identifier": "/etc"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "That path is not inside your folder." in page
    action = f'action="{reverse("publishing:project_detail", args=[project.pk])}"'
    assert re.search(rf'<form method="post" {action}[^>]*id="project-form"', page)


@pytest.mark.parametrize(
    ("zone", "when"), [("Asia/Shanghai", "0001-01-01 00:00"), ("America/Los_Angeles", "9999-12-31 23:59")]
)
def test_a_time_at_the_end_of_the_calendar_is_refused_on_the_page(client, owner, task, zone, when):
    # In the owner's time zone it parses; in UTC it was out of range: an OverflowError 500 on save.
    owner.time_zone = zone
    owner.save()
    client.force_login(owner)
    response = client.post(
        reverse("publishing:task_action", args=[task.pk, "change"]), {"scheduled_at": when}, follow=True
    )
    assert response.status_code == 200
    assert "Choose a date between 2000-01-01 and 2999-12-31." in response.content.decode()
    before = task.scheduled_at
    task.refresh_from_db()
    assert task.scheduled_at == before and task.version == 1


def test_credentials_are_never_shown_back(client, owner, x_project, staff):
    client.force_login(owner)
    page = client.get(reverse("publishing:project_detail", args=[x_project.pk])).content.decode()
    assert "…3333" in page
    for secret in SECRETS.values():
        assert secret not in page
    client.force_login(staff)
    admin_page = client.get(reverse("admin:publishing_project_change", args=[x_project.pk])).content.decode()
    for secret in SECRETS.values():
        assert secret not in admin_page


def test_an_id_too_big_for_the_database_is_a_bad_filter_not_a_500(client, owner, task, api_client_for):
    # On SQLite a filter on a number past 2**63 - 1 raised OverflowError instead of matching nothing.
    huge = str(2**64)
    client.force_login(owner)
    response = client.get(reverse("publishing:task_list"), {"project": huge, "status": "pending"})
    assert response.status_code == 200 and "Hello world" in response.content.decode()
    api = api_client_for(owner, ["publishing:read"])
    for url, field in (("/api/v1/publishing/tasks", "project"), ("/api/v1/publishing/logs", "task")):
        response = api.get(url, {field: huge})
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == [field]
    assert len(api.get("/api/v1/publishing/tasks", {"project": task.project_id}).json()["results"]) == 1


def test_the_queue_page_query_count_does_not_grow(client, owner, project, django_assert_max_num_queries):
    for i in range(30):
        task_create(project=project, text=f"post {i}")
    client.force_login(owner)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("publishing:task_list")).status_code == 200


def test_api_creates_a_task_with_the_narrow_scope_and_reads_its_status(owner, project, api_client_for):
    creator = api_client_for(owner, ["tasks:create"])
    response = creator.post("/api/v1/publishing/tasks", {"project": project.pk, "text": "From a service"})
    assert response.status_code == 201, response.json()
    task_id = response.json()["id"]
    assert creator.get(f"/api/v1/publishing/tasks/{task_id}").status_code == 403
    assert creator.get("/api/v1/publishing/projects").status_code == 403
    reader = api_client_for(owner, ["tasks:read_status"])
    assert reader.get(f"/api/v1/publishing/tasks/{task_id}").json()["status"] == "pending"


def test_api_bad_input_is_a_400_with_the_field(owner, project, api_client_for):
    api = api_client_for(owner, ["publishing:write", "publishing:read"])
    response = api.post("/api/v1/publishing/tasks", {"project": project.pk, "text": "x" * 300})
    assert response.status_code == 400 and "text" in response.json()["error"]["fields"]
    response = api.post("/api/v1/publishing/tasks", {"project": project.pk, "media_path": "/etc/passwd"})
    assert response.status_code == 400 and "media_path" in response.json()["error"]["fields"]
    response = api.post("/api/v1/publishing/projects", {"name": "Cats"})
    assert response.status_code == 400 and "name" in response.json()["error"]["fields"]
    response = api.post("/api/v1/publishing/projects", {"name": "New", "slot_times": ["25:99"]})
    assert response.status_code == 400 and "slot_times" in response.json()["error"]["fields"]
    response = api.get("/api/v1/publishing/tasks?status=nope")
    assert response.status_code == 400 and "status" in response.json()["error"]["fields"]


def test_api_refuses_a_time_at_the_end_of_the_calendar(owner, project, task, api_client_for):
    # Stored, 9999-12-31T23:00Z overflowed on any page shown in a time zone east of UTC.
    api = api_client_for(owner, ["publishing:write", "publishing:read"])
    late = "9999-12-31T23:00:00Z"
    response = api.post("/api/v1/publishing/tasks", {"project": project.pk, "text": "late", "scheduled_at": late})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"scheduled_at": ["Choose a date between 2000-01-01 and 2999-12-31."]}
    response = api.post(f"/api/v1/publishing/tasks/{task.pk}/change", {"scheduled_at": late})
    assert response.status_code == 400 and "scheduled_at" in response.json()["error"]["fields"]
    assert PublishingTask.objects.get().pk == task.pk


def test_api_is_owner_scoped_and_hides_credentials(owner, other_user, x_project, api_client_for):
    task = task_create(project=x_project, text="Mine")
    outsider = api_client_for(other_user, ["publishing:read", "publishing:write"])
    assert outsider.get("/api/v1/publishing/projects").json()["results"] == []
    assert outsider.get(f"/api/v1/publishing/projects/{x_project.pk}").status_code == 404
    assert outsider.get(f"/api/v1/publishing/tasks/{task.pk}").status_code == 404
    assert outsider.post(f"/api/v1/publishing/tasks/{task.pk}/cancel").status_code == 404
    response = outsider.post("/api/v1/publishing/tasks", {"project": x_project.pk, "text": "sneaky"})
    assert response.status_code == 400 and "project" in response.json()["error"]["fields"]
    mine = api_client_for(owner, ["publishing:read", "publishing:write"])
    body = mine.get(f"/api/v1/publishing/projects/{x_project.pk}").content.decode()
    assert '"has_credentials":true' in body.replace(" ", "")
    for secret in SECRETS.values():
        assert secret not in body
    response = mine.patch(
        f"/api/v1/publishing/projects/{x_project.pk}", {"credentials": {**SECRETS, "x_access_token": "new-token-9999"}}
    )
    assert response.status_code == 200 and "new-token-9999" not in response.content.decode()


def test_api_task_list_query_count_does_not_grow(owner, project, api_client_for, django_assert_max_num_queries):
    for i in range(40):
        task_create(project=project, text=f"post {i}")
    api = api_client_for(owner, ["publishing:read"])
    with django_assert_max_num_queries(6):
        assert api.get("/api/v1/publishing/tasks").status_code == 200


def test_admin_actions_call_the_services_and_logs_are_read_only(client, staff, owner, task, folder_source):
    publish_due(run_seconds=5)
    client.force_login(staff)
    log = PublishingLog.objects.get()
    assert client.get(reverse("admin:publishing_publishinglog_change", args=[log.pk])).status_code == 200
    assert client.post(reverse("admin:publishing_publishinglog_delete", args=[log.pk])).status_code == 403
    PublishingTask.objects.filter(pk=task.pk).update(status=PublishingTask.Status.FAILED)
    client.post(
        reverse("admin:publishing_publishingtask_changelist"), {"action": "retry", "_selected_action": [task.pk]}
    )
    assert PublishingTask.objects.get(pk=task.pk).status == PublishingTask.Status.PENDING
    for name in ("project", "contentsource", "publishingtask", "publishinglog"):
        assert client.get(reverse(f"admin:publishing_{name}_changelist")).status_code == 200
    client.force_login(owner)
    assert client.get(reverse("admin:publishing_publishingtask_changelist")).status_code == 302


def test_duplicates_are_skipped_with_a_reason(project):
    first = task_create(project=project, text="Same  TEXT", scheduled_at=timezone.now() - timedelta(minutes=2))
    second = task_create(project=project, text="same text", scheduled_at=timezone.now() - timedelta(minutes=1))
    publish_due(run_seconds=5)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (PublishingTask.Status.SUCCESS, PublishingTask.Status.CANCELLED)
    log = second.logs.get()
    assert (log.status, log.error_kind) == (
        PublishingLog.Status.SKIPPED,
        PublishingLog.ErrorKind.DUPLICATE,
    ) and f"#{first.pk}" in log.error_message


def test_demo_is_idempotent(owner, settings, tmp_path):
    from publishing.demo import create_demo

    settings.VAR_DIR = tmp_path
    settings.PUBLISHING_LOCAL_ROOTS = [(tmp_path / "demo_media").resolve()]
    project = create_demo(owner)
    create_demo(owner)
    assert project.tasks.count() == 3 and project.sources.get().used_items == 3


def _project_form(**extra) -> dict:
    data = {"name": "Birds", "description": "", "daily_cap": "10", "duplicate_window_days": "7"}
    data.update(extra)
    return data


def test_posting_times_or_an_interval_not_both_and_errors_sit_on_their_fields(client, owner):
    client.force_login(owner)
    url = reverse("publishing:project_list")
    both = client.post(url, _project_form(slot_times_text="09:00, 18:00", slot_interval_minutes="30"))
    assert "not both" in " ".join(both.context["form"].errors["slot_interval_minutes"])
    bad_time = client.post(url, _project_form(slot_times_text="09:00, 25:99"))
    assert "25:99" in " ".join(bad_time.context["form"].errors["slot_times_text"])
    assert not Project.objects.filter(name="Birds").exists()

    client.post(url, _project_form(slot_times_text="09:00, 18:00"))
    project = Project.objects.get(name="Birds")
    assert project.slot_times == ["09:00", "18:00"] and project.slot_interval_minutes is None


def test_the_api_refuses_times_and_an_interval_together(owner, project, api_client_for):
    api = api_client_for(owner, ["publishing:write", "publishing:read"])  # read: to see the answer
    url = f"/api/v1/publishing/projects/{project.pk}"
    response = api.patch(url, {"slot_times": ["09:00"]}, format="json")  # the project has an interval
    assert response.status_code == 400 and "slot_interval_minutes" in response.json()["error"]["fields"]
    response = api.patch(url, {"slot_times": ["09:00"], "slot_interval_minutes": None}, format="json")
    assert response.status_code == 200 and response.json()["slot_times"] == ["09:00"]


def test_an_interval_or_window_too_long_for_the_calendar_is_refused(client, owner, project, api_client_for):
    # Accepted before, they made the next task's slot (a 500) or the publish job's duplicate
    # window (every project in the batch) overflow the calendar.
    api = api_client_for(owner, ["publishing:write"])
    url = f"/api/v1/publishing/projects/{project.pk}"
    for field, value in (("slot_interval_minutes", 10**13), ("duplicate_window_days", 10**9)):
        response = api.patch(url, {field: value}, format="json")
        assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert api.patch(url, {"slot_interval_minutes": 24 * 60}, format="json").status_code == 200

    client.force_login(owner)
    page = client.post(reverse("publishing:project_list"), _project_form(duplicate_window_days=str(10**9)))
    assert page.status_code == 200 and "duplicate_window_days" in page.context["form"].errors


def test_the_queue_shows_a_tasks_origin_but_not_a_generated_api_key(client, owner, project, media_root):
    (media_root / "cat.png").write_bytes(b"png")
    from_file = task_create(project=project, text="From a file", media_path=str(media_root / "cat.png"))
    from_api = task_create(project=project, text="From a program")
    named = task_create(project=project, text="Named", key="newsletter-42")
    client.force_login(owner)
    page = client.get(reverse("publishing:task_list")).content.decode()
    assert f'title="{from_file.media_path}">cat.png</code>' in page
    assert f">{named.media_path}</code>" in page
    assert from_api.media_path.startswith("api:") and from_api.media_path not in page
