"""A task action its status does not allow is a StateError: a 400 under ``state`` on the API
(as for messages), a plain message on the page and in the admin. Limits live in the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cradle_site.errors import StateError
from publishing import services
from publishing.models import ContentSource, PublishingTask
from publishing.services import task_create

pytestmark = pytest.mark.django_db
RW = ["publishing:read", "publishing:write"]


@pytest.fixture
def task(project):
    return task_create(project=project, text="Hello world", scheduled_at=timezone.now() - timedelta(minutes=1))


def _set_status(task, status: str) -> None:
    PublishingTask.objects.filter(pk=task.pk).update(status=status)


@pytest.mark.parametrize(
    ("status", "action", "reason"),
    [
        ("success", "retry", "Only failed or cancelled tasks can be retried."),
        ("success", "cancel", "Only pending, failed or held tasks can be cancelled."),
        ("cancelled", "change", "Only pending tasks can be moved."),
    ],
)
def test_the_api_answers_a_wrong_state_under_state(owner, task, api_client_for, status, action, reason):
    _set_status(task, status)
    api = api_client_for(owner, RW)
    response = api.post(f"/api/v1/publishing/tasks/{task.pk}/{action}", {"priority": 3}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid", "message": f"state: {reason}", "fields": {"state": [reason]}}
    }
    assert PublishingTask.objects.get(pk=task.pk).status == status


def test_a_task_that_changed_meanwhile_is_a_state_error(task):
    _set_status(task, "cancelled")  # the caller still holds it as pending
    with pytest.raises(StateError, match="changed meanwhile"):
        services.task_cancel(task=task)


def test_the_page_shows_a_wrong_state_as_a_message(client, owner, task):
    _set_status(task, "success")
    client.force_login(owner)
    response = client.post(reverse("publishing:task_action", args=[task.pk, "retry"]), follow=True)
    assert response.status_code == 200
    assert "Only failed or cancelled tasks can be retried." in [str(m) for m in response.context["messages"]]


def test_the_admin_warns_about_a_task_in_the_wrong_state(client, staff, task):
    _set_status(task, "success")
    client.force_login(staff)
    response = client.post(
        reverse("admin:publishing_publishingtask_changelist"),
        {"action": "cancel", "_selected_action": [task.pk], "index": "0", "confirmed": "yes"},
        follow=True,
    )
    texts = [str(m) for m in response.context["messages"]]
    assert f"#{task.pk}: Only pending, failed or held tasks can be cancelled." in texts
    assert PublishingTask.objects.get(pk=task.pk).status == "success"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"alt_text": "a" * (services.ALT_TEXT_MAX_LENGTH + 1)}, "alt_text"),
        ({"key": "k" * (services.TASK_KEY_MAX_LENGTH + 1)}, "key"),
        ({"media_path": "m" * (services.MEDIA_PATH_MAX_LENGTH + 1)}, "media_path"),
        ({"priority": services.PRIORITY_MAX + 1}, "priority"),
        ({"priority": services.PRIORITY_MIN - 1}, "priority"),
    ],
)
def test_the_service_holds_the_task_limits(project, values, field):
    with pytest.raises(ValidationError) as caught:
        task_create(project=project, text="Hello", **values)
    assert list(caught.value.message_dict) == [field]
    assert not PublishingTask.objects.exists()


def test_the_service_holds_the_priority_limit_when_moving(task):
    with pytest.raises(ValidationError) as caught:
        services.task_reschedule(task=task, priority=services.PRIORITY_MAX + 1)
    assert list(caught.value.message_dict) == ["priority"]
    assert PublishingTask.objects.get(pk=task.pk).priority == 0


def test_the_api_refuses_a_source_path_over_the_limit(owner, project, api_client_for):
    # The page's form had this limit; the API took any length.
    api = api_client_for(owner, RW)
    too_long = "d" * (services.SOURCE_PATH_MAX_LENGTH + 1)
    response = api.post(
        f"/api/v1/publishing/projects/{project.pk}/sources",
        {"source_type": "google_drive", "path_or_identifier": too_long},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["path_or_identifier"]
    assert not ContentSource.objects.exists()


def test_the_admin_forms_take_the_services_limits(rf, staff):
    from django.contrib import admin

    request = rf.get("/")
    request.user = staff
    task_form = admin.site._registry[PublishingTask].get_form(request)
    priority = task_form.base_fields["priority"]
    assert (priority.min_value, priority.max_value) == (services.PRIORITY_MIN, services.PRIORITY_MAX)
    source_form = admin.site._registry[ContentSource].get_form(request)
    assert source_form.base_fields["path_or_identifier"].max_length == services.SOURCE_PATH_MAX_LENGTH
