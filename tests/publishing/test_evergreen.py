"""Evergreen posts: a published post the owner marks evergreen gets a new copy (with its
replies) every N days, never two waiting at once, never sooner than the duplicate window,
and a sweep racing another queues one copy."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from django.urls import reverse

from cradle_site.errors import StateError
from publishing.composer import PostIn, post_create
from publishing.evergreen import evergreen_due, evergreen_mark
from publishing.models import PublishingTask, ThreadReply
from publishing.runner import publish_due
from publishing.services import project_create, project_update
from tests.clock import NOW

Status = PublishingTask.Status


def _published(project, text="Evergreen post", replies=()):
    task = post_create(
        project=project,
        posts=[PostIn(text=text)] + [PostIn(text=r) for r in replies],
        scheduled_at=NOW - timedelta(minutes=1),
    )
    publish_due(max_batches=1)  # the dry run posts it
    task.refresh_from_db()
    assert task.status == Status.SUCCESS
    return task


@pytest.mark.django_db
def test_the_interval_may_not_be_shorter_than_the_duplicate_window(owner):
    with pytest.raises(ValidationError) as refused:
        project_create(owner=owner, name="E", duplicate_window_days=30, evergreen_after_days=10)
    assert list(refused.value.message_dict) == ["evergreen_after_days"]
    project = project_create(owner=owner, name="E", duplicate_window_days=30, evergreen_after_days=30)
    with pytest.raises(ValidationError):
        project_update(project=project, duplicate_window_days=45)


@pytest.mark.django_db
def test_an_evergreen_post_is_copied_after_n_days_with_its_replies_and_only_once_at_a_time(owner, time_machine):
    time_machine.move_to(NOW, tick=False)
    project = project_create(
        owner=owner, name="E", duplicate_window_days=7, evergreen_after_days=14, slot_interval_minutes=30
    )
    task = _published(project, replies=["a reply"])
    not_published = PublishingTask.objects.create(
        project=project, media_path="x", scheduled_at=NOW + timedelta(days=400)
    )
    with pytest.raises(StateError):
        evergreen_mark(task=not_published, evergreen=True)
    evergreen_mark(task=task, evergreen=True)

    time_machine.move_to(NOW + timedelta(days=13), tick=False)
    assert evergreen_due() == 0  # not yet
    time_machine.move_to(NOW + timedelta(days=14, minutes=1), tick=False)
    assert evergreen_due() == 1
    assert evergreen_due() == 0  # one copy waiting: no second
    (copy,) = task.evergreen_copies.all()
    assert copy.status == Status.PENDING and copy.text == task.text and copy.reply_count == 1
    assert ThreadReply.objects.get(task=copy).content_data["text"] == "a reply"

    time_machine.move_to(copy.scheduled_at + timedelta(seconds=1), tick=False)
    assert publish_due(max_batches=1).published == 1  # the window (7 days) has passed: not a duplicate
    copy.refresh_from_db()
    assert copy.status == Status.SUCCESS
    # The next copy counts from the copy's outing, not the original's.
    time_machine.move_to(copy.published_at + timedelta(days=13), tick=False)
    assert evergreen_due() == 0
    time_machine.move_to(copy.published_at + timedelta(days=14, minutes=1), tick=False)
    assert evergreen_due() == 1

    evergreen_mark(task=task, evergreen=False)
    time_machine.move_to(copy.published_at + timedelta(days=60), tick=False)
    PublishingTask.objects.filter(evergreen_of=task, status=Status.PENDING).update(status=Status.CANCELLED)
    assert evergreen_due() == 0


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_queue_one_copy(owner, time_machine):
    time_machine.move_to(NOW, tick=False)
    project = project_create(
        owner=owner, name="E", duplicate_window_days=7, evergreen_after_days=7, slot_interval_minutes=30
    )
    tasks = [_published(project, text=f"Post {n}") for n in range(5)]
    for task in tasks:
        evergreen_mark(task=task, evergreen=True)
    time_machine.move_to(NOW + timedelta(days=8), tick=False)
    results, errors = [], []

    def sweep():
        try:
            results.append(evergreen_due())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sum(results) == 5
    assert PublishingTask.objects.filter(evergreen_of__isnull=False).count() == 5


@pytest.mark.django_db
def test_the_queue_page_and_the_api_mark_a_post_evergreen(client, owner, other_user, api_client_for, time_machine):
    time_machine.move_to(NOW, tick=False)
    project = project_create(owner=owner, name="E", slot_interval_minutes=30)
    task = _published(project)
    client.force_login(owner)
    client.post(reverse("publishing:task_action", args=[task.pk, "evergreen"]))
    task.refresh_from_db()
    assert task.evergreen
    assert "Stop reposting" in client.get(reverse("publishing:task_list") + "?status=success").content.decode()
    api = api_client_for(owner, ["publishing:read", "publishing:write"])
    assert api.post(f"/api/v1/publishing/tasks/{task.pk}/not-evergreen").json()["evergreen"] is False
    outsider = api_client_for(other_user, ["publishing:read", "publishing:write"])
    assert outsider.post(f"/api/v1/publishing/tasks/{task.pk}/evergreen").status_code == 404
    pending = PublishingTask.objects.create(project=project, media_path="p", scheduled_at=NOW + timedelta(days=1))
    refused = api.post(f"/api/v1/publishing/tasks/{pending.pk}/evergreen")
    assert refused.status_code == 400 and "Only a published post" in str(refused.json())
