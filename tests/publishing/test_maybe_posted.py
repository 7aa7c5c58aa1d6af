"""A task that may already be on X is never posted twice (publishing.holds).

The worker dies after X created the post and before the success was recorded (here:
``apply_success`` raises once); the lease runs out and another run takes the task back,
flagged ``maybe_posted``. A text post is sent again and X's "duplicate" refusal means it is
there; a post without text, which X would accept again, is held for its owner.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from publishing import publishers, runner
from publishing.holds import HELD_REASON
from publishing.models import PublishingLog, PublishingTask
from publishing.runner import publish_due
from publishing.services import task_create, task_mark_posted, task_post_anyway
from tests.clock import NOW

from .conftest import png_bytes
from .xdouble import XDouble

Status = PublishingTask.Status
LogStatus = PublishingLog.Status


class WorkerDied(Exception):
    pass


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def double(settings):
    with XDouble() as double:
        settings.PUBLISHING_X_BASE_URL = double.url
        yield double


@pytest.fixture
def media_task(x_project, media_root):
    path = media_root / "cat.png"
    path.write_bytes(png_bytes(3))
    return task_create(project=x_project, media_path=str(path), scheduled_at=NOW - timedelta(minutes=1))


@pytest.fixture
def text_task(x_project):
    return task_create(project=x_project, text="Just words", scheduled_at=NOW - timedelta(minutes=1))


def _die_after_x_took_it(task, monkeypatch, time_machine) -> None:
    """Run the worker until X has the post, let it die before recording it (not even the post's
    id, ``threads.thread_record``), then outlive its lease."""

    def die(*args, **kwargs):
        raise WorkerDied

    monkeypatch.setattr(publishers, "thread_record", die)
    with pytest.raises(WorkerDied):
        publish_due(run_seconds=5)
    monkeypatch.undo()
    task.refresh_from_db()
    assert (task.status, task.maybe_posted) == (Status.LOCKED, False)
    time_machine.move_to(NOW + timedelta(seconds=django_settings.PUBLISHING_LEASE_SECONDS + 1), tick=False)


def test_a_media_only_post_whose_worker_died_after_x_took_it_is_held_not_posted_again(
    media_task, double, monkeypatch, time_machine
):
    _die_after_x_took_it(media_task, monkeypatch, time_machine)
    assert double.creations_per_task([media_task]) == {media_task.pk: 1}

    stats = publish_due(run_seconds=5)

    assert (stats.reclaimed, stats.held, stats.published) == (1, 1, 0)
    assert double.creations_per_task([media_task]) == {media_task.pk: 1}
    media_task.refresh_from_db()
    assert (media_task.status, media_task.maybe_posted, media_task.last_error) == (Status.HELD, True, HELD_REASON)
    log = media_task.logs.get()
    assert (log.status, log.error_message) == (LogStatus.SKIPPED, HELD_REASON)
    assert publish_due(run_seconds=5).claimed == 0  # held: no claim takes it
    assert double.total == 1


def test_a_media_only_post_that_timed_out_after_it_reached_x_is_held_on_its_retry(media_task, double, settings):
    settings.PUBLISHING_HTTP_TIMEOUT = 0.5
    double.hang_after_create = True
    publish_due(run_seconds=5)
    media_task.refresh_from_db()
    assert (media_task.status, media_task.maybe_posted) == (Status.PENDING, True)  # a read timeout: retried
    double.release.set()

    PublishingTask.objects.filter(pk=media_task.pk).update(scheduled_at=NOW)
    assert publish_due(run_seconds=5).held == 1
    assert double.creations_per_task([media_task]) == {media_task.pk: 1}
    assert PublishingTask.objects.get(pk=media_task.pk).status == Status.HELD


def test_a_text_post_whose_worker_died_after_x_took_it_is_published_once_on_xs_refusal(
    text_task, double, monkeypatch, time_machine
):
    _die_after_x_took_it(text_task, monkeypatch, time_machine)

    stats = publish_due(run_seconds=5)

    assert (stats.reclaimed, stats.held, stats.published) == (1, 0, 0)
    assert double.refused == 1 and double.creations_per_task([text_task]) == {text_task.pk: 1}
    text_task.refresh_from_db()
    assert (text_task.status, text_task.maybe_posted) == (Status.SUCCESS, True)
    assert "treated as published" in text_task.logs.get().error_message


def test_a_post_whose_id_was_recorded_before_its_worker_died_is_finished_without_a_second_attempt(
    text_task, double, monkeypatch, time_machine
):
    def die(*args, **kwargs):
        raise WorkerDied

    monkeypatch.setattr(runner, "apply_success", die)
    with pytest.raises(WorkerDied):
        publish_due(run_seconds=5)
    monkeypatch.undo()
    time_machine.move_to(NOW + timedelta(seconds=django_settings.PUBLISHING_LEASE_SECONDS + 1), tick=False)

    stats = publish_due(run_seconds=5)

    assert (stats.reclaimed, stats.published) == (1, 1)
    assert double.refused == 0 and double.creations_per_task([text_task]) == {text_task.pk: 1}
    text_task.refresh_from_db()
    assert text_task.status == Status.SUCCESS and text_task.posted_id == double.creations[0].tweet_id


def _held(task) -> PublishingTask:
    PublishingTask.objects.filter(pk=task.pk).update(status=Status.HELD, maybe_posted=True, last_error=HELD_REASON)
    task.refresh_from_db()
    return task


def test_marked_as_posted_a_held_task_is_published_without_posting(media_task, double):
    task_mark_posted(task=_held(media_task))
    media_task.refresh_from_db()
    assert (media_task.status, media_task.published_at, media_task.last_error) == (Status.SUCCESS, NOW, "")
    assert "Marked as posted by the owner" in media_task.logs.get(status=LogStatus.SUCCESS).error_message
    publish_due(run_seconds=5)
    assert double.total == 0


def test_posted_anyway_a_held_task_is_posted_once_more_and_not_held_again(media_task, double):
    task_post_anyway(task=_held(media_task))
    media_task.refresh_from_db()
    assert (media_task.status, media_task.maybe_posted) == (Status.PENDING, False)
    assert publish_due(run_seconds=5).published == 1
    assert double.creations_per_task([media_task]) == {media_task.pk: 1}
    assert PublishingTask.objects.get(pk=media_task.pk).status == Status.SUCCESS


@pytest.mark.parametrize("service", [task_mark_posted, task_post_anyway])
def test_only_a_held_task_takes_the_owners_decision(media_task, service):
    from cradle_site.errors import StateError

    with pytest.raises(StateError):
        service(task=media_task)
    assert PublishingTask.objects.get(pk=media_task.pk).status == Status.PENDING


def test_the_queue_page_shows_a_held_task_and_its_two_choices(client, owner, media_task):
    _held(media_task)
    client.force_login(owner)
    page = client.get(reverse("publishing:task_list")).content.decode()
    assert "Held: check X" in page and "May already be on X" in page
    assert reverse("publishing:task_action", args=[media_task.pk, "mark_posted"]) in page
    assert reverse("publishing:task_action", args=[media_task.pk, "post_anyway"]) in page
    assert "Held: check X" in client.get(reverse("publishing:task_list") + "?status=held").content.decode()


def test_the_owner_decides_on_the_page(client, owner, media_task):
    client.force_login(owner)
    client.post(reverse("publishing:task_action", args=[_held(media_task).pk, "mark_posted"]))
    assert PublishingTask.objects.get(pk=media_task.pk).status == Status.SUCCESS


def test_an_outsider_cannot_decide(client, other_user, media_task):
    client.force_login(other_user)
    assert client.post(reverse("publishing:task_action", args=[_held(media_task).pk, "post_anyway"])).status_code == 404
    assert PublishingTask.objects.get(pk=media_task.pk).status == Status.HELD


def test_the_owner_decides_through_the_api(api_client_for, owner, media_task):
    api = api_client_for(owner, ["publishing:read", "publishing:write"])
    response = api.post(f"/api/v1/publishing/tasks/{_held(media_task).pk}/post-anyway")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["maybe_posted"]) == ("pending", False)
    again = api.post(f"/api/v1/publishing/tasks/{media_task.pk}/mark-posted")
    assert again.status_code == 400 and "state" in again.json()["error"]["fields"]


def test_staff_decide_in_the_admin(client, staff, media_task):
    _held(media_task)
    client.force_login(staff)
    changelist = reverse("admin:publishing_publishingtask_changelist")
    assert "Held: check X" in client.get(changelist + "?status__exact=held").content.decode()
    confirmed = {"index": "0", "confirmed": "yes"}  # the action asks first (cradle_site.admin_confirm)
    client.post(changelist, {"action": "mark_posted", "_selected_action": [media_task.pk], **confirmed}, follow=True)
    assert PublishingTask.objects.get(pk=media_task.pk).status == Status.SUCCESS


def test_the_held_task_reads_in_chinese_for_a_chinese_owner(client, owner, media_task):
    owner.language = "zh-hans"
    owner.save()
    _held(media_task)
    client.force_login(owner)
    page = client.get(reverse("publishing:task_list")).content.decode()
    assert "已暂扣：请查看 X" in page and "没有：仍然发布" in page and "已有：标记为已发布" in page
