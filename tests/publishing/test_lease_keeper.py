"""A long publish (a big video, uploaded in chunks) keeps its lease, and stops if it lost it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from django.db.models import F
from django.utils import timezone

from publishing import queue
from publishing.models import PublishingLog, PublishingTask
from publishing.runner import publish_due
from publishing.services import task_create

UPLOAD = "https://upload.twitter.com/1.1/media/upload.json"
TWEETS = "https://api.twitter.com/2/tweets"
MIB = 1024 * 1024


@pytest.fixture
def video_task(x_project, media_root, settings, time_machine):
    settings.PUBLISHING_LEASE_SECONDS = 30
    time_machine.move_to(timezone.now(), tick=False)
    path = media_root / "long.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"v" * (3 * MIB - 12))  # three 1 MiB chunks
    task = task_create(project=x_project, text="A long video", media_path=str(path))
    PublishingTask.objects.filter(pk=task.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    return task


def _x_double(on_append, on_finalize=lambda: None):
    def upload(request):
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        if b"INIT" in body:
            return 202, {}, json.dumps({"media_id": 5, "media_id_string": "5"})
        if b"APPEND" in body:
            on_append()
            return 204, {}, ""
        on_finalize()
        return 200, {}, json.dumps({"media_id": 5, "media_id_string": "5"})

    responses.add_callback(responses.POST, UPLOAD, callback=upload)
    responses.post(TWEETS, json={"data": {"id": "9", "text": "A long video"}}, status=201)


@responses.activate
def test_a_long_upload_renews_its_lease_so_no_other_worker_takes_it(video_task, time_machine):
    reclaimed_meanwhile = []
    _x_double(
        on_append=lambda: time_machine.shift(15),  # each chunk takes half a lease
        on_finalize=lambda: reclaimed_meanwhile.append(
            queue.TASK_LEASE.take_back(now=timezone.now())
        ),  # another worker looks
    )

    stats = publish_due(run_seconds=60)

    assert reclaimed_meanwhile == [0], "the lease ran out during the upload"
    assert (stats.published, stats.lost) == (1, 0)
    assert sum(call.request.url == TWEETS for call in responses.calls) == 1
    video_task.refresh_from_db()
    assert video_task.status == PublishingTask.Status.SUCCESS


@responses.activate
def test_a_publish_that_lost_its_lease_posts_nothing(video_task, time_machine):
    def taken_back():
        # Another worker reclaimed the task while this one was uploading.
        PublishingTask.objects.filter(pk=video_task.pk).update(
            status=PublishingTask.Status.PENDING, version=F("version") + 1, locked_by="", lease_expires_at=None
        )
        time_machine.shift(15)

    _x_double(on_append=taken_back)

    stats = publish_due(run_seconds=60, max_batches=1)

    assert stats.lost == 1 and stats.published == 0
    assert not any(call.request.url == TWEETS for call in responses.calls)
    video_task.refresh_from_db()
    assert video_task.status == PublishingTask.Status.PENDING and video_task.retry_count == 0
    assert not PublishingLog.objects.filter(task=video_task).exists()
