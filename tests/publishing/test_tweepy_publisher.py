"""The real tweepy code against an HTTP double of X (the ``responses`` library)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from django.utils import timezone

from publishing.models import Project, PublishingLog, PublishingTask
from publishing.runner import publish_due
from publishing.services import task_create
from tests.clock import NOW

from .conftest import SECRETS, png_bytes

UPLOAD = "https://upload.twitter.com/1.1/media/upload.json"
METADATA = "https://upload.twitter.com/1.1/media/metadata/create.json"
TWEETS = "https://api.twitter.com/2/tweets"
Status = PublishingTask.Status
LogStatus = PublishingLog.Status
ErrorKind = PublishingLog.ErrorKind


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    """Every test here runs at NOW, so a retry time or a rate-limit reset is compared exactly."""
    time_machine.move_to(NOW, tick=False)


def _due(task: PublishingTask) -> PublishingTask:
    PublishingTask.objects.filter(pk=task.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    task.refresh_from_db()
    return task


@pytest.fixture
def image_task(x_project, media_root):
    path = media_root / "cat.png"
    path.write_bytes(png_bytes(1))
    return _due(
        task_create(project=x_project, text="A cat in the sun", alt_text="A grey cat asleep", media_path=str(path))
    )


@pytest.fixture
def text_task(x_project):
    return _due(task_create(project=x_project, text="Just words"))


@responses.activate
def test_it_uploads_the_image_sets_alt_text_and_posts(image_task):
    responses.post(UPLOAD, json={"media_id": 710, "media_id_string": "710", "size": 70})
    responses.post(METADATA, body="")
    responses.post(TWEETS, json={"data": {"id": "1234", "text": "A cat in the sun"}}, status=201)

    publish_due(run_seconds=5)

    upload, metadata, tweet = responses.calls
    assert upload.request.method == "POST" and upload.request.url == UPLOAD
    assert upload.request.headers["Authorization"].startswith("OAuth ")
    assert b'name="media"; filename="cat.png"' in upload.request.body
    assert png_bytes(1) in upload.request.body
    assert json.loads(metadata.request.body) == {"media_id": "710", "alt_text": {"text": "A grey cat asleep"}}
    assert tweet.request.method == "POST" and tweet.request.url == TWEETS
    assert json.loads(tweet.request.body) == {"text": "A cat in the sun", "media": {"media_ids": ["710"]}}
    image_task.refresh_from_db()
    assert image_task.status == Status.SUCCESS and image_task.published_at is not None
    log = PublishingLog.objects.get(task=image_task)
    assert (log.status, log.tweet_id, log.error_kind, log.dry_run) == (LogStatus.SUCCESS, "1234", ErrorKind.NONE, False)
    assert log.duration_seconds >= 0


@responses.activate
def test_it_uploads_video_in_chunks_and_polls_processing(x_project, media_root, settings):
    path = media_root / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"v" * 3000)
    task = _due(task_create(project=x_project, text="Video!", alt_text="ignored for video", media_path=str(path)))
    commands = []
    states = iter(["in_progress", "succeeded"])

    def upload(request):
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        if request.method == "GET":
            commands.append("STATUS")
            return (
                200,
                {},
                json.dumps(
                    {
                        "media_id": 55,
                        "media_id_string": "55",
                        "processing_info": {"state": next(states), "check_after_secs": 0},
                    }
                ),
            )
        for command in ("INIT", "APPEND", "FINALIZE"):
            if f"command={command}".encode() in body or f'name="command"\r\n\r\n{command}'.encode() in body:
                commands.append(command)
                break
        if commands[-1] == "INIT":
            assert b"media_type=video%2Fmp4" in body and b"total_bytes=3012" in body
            return 202, {}, json.dumps({"media_id": 55, "media_id_string": "55"})
        if commands[-1] == "APPEND":
            return 204, {}, ""
        return (
            200,
            {},
            json.dumps(
                {
                    "media_id": 55,
                    "media_id_string": "55",
                    "processing_info": {"state": "pending", "check_after_secs": 0},
                }
            ),
        )

    responses.add_callback(responses.POST, UPLOAD, callback=upload)
    responses.add_callback(responses.GET, UPLOAD, callback=upload)
    responses.post(TWEETS, json={"data": {"id": "77", "text": "Video!"}}, status=201)

    publish_due(run_seconds=5)

    assert commands == ["INIT", "APPEND", "FINALIZE", "STATUS", "STATUS"]
    assert not any(call.request.url == METADATA for call in responses.calls)
    assert json.loads(responses.calls[-1].request.body)["media"] == {"media_ids": ["55"]}
    task.refresh_from_db()
    assert task.status == Status.SUCCESS


@responses.activate
def test_a_failed_video_processing_fails_the_task_as_media(x_project, media_root):
    path = media_root / "bad.mp4"
    path.write_bytes(b"not really a video")
    task = _due(task_create(project=x_project, text="Broken", media_path=str(path)))

    def upload(request):
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        if b"FINALIZE" in body:
            return (
                200,
                {},
                json.dumps(
                    {
                        "media_id": 9,
                        "media_id_string": "9",
                        "processing_info": {
                            "state": "failed",
                            "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported video"},
                        },
                    }
                ),
            )
        if b"APPEND" in body:
            return 204, {}, ""
        return 202, {}, json.dumps({"media_id": 9, "media_id_string": "9"})

    responses.add_callback(responses.POST, UPLOAD, callback=upload)
    publish_due(run_seconds=5)

    task.refresh_from_db()
    assert task.status == Status.FAILED
    log = task.logs.get()
    assert (log.status, log.error_kind) == (LogStatus.FAILED, ErrorKind.MEDIA)
    assert "Unsupported video" in log.error_message
    assert not any(call.request.url == TWEETS for call in responses.calls)


@responses.activate
def test_429_reschedules_at_the_reset_time_without_counting(text_task):
    reset = int((NOW + timedelta(minutes=7)).timestamp())
    responses.post(TWEETS, json={"title": "Too Many Requests"}, status=429, headers={"x-rate-limit-reset": str(reset)})
    publish_due(run_seconds=5)
    text_task.refresh_from_db()
    assert text_task.status == Status.PENDING and text_task.retry_count == 0
    assert text_task.scheduled_at == datetime.fromtimestamp(reset, tz=UTC)
    assert text_task.logs.get().error_kind == ErrorKind.RATE_LIMIT


@responses.activate
def test_5xx_is_retried_with_backoff_then_fails(text_task, settings):
    settings.PUBLISHING_MAX_RETRIES = 2
    settings.PUBLISHING_RETRY_BASE_SECONDS = 60
    responses.post(TWEETS, json={"title": "Service Unavailable"}, status=503)
    publish_due(run_seconds=5)
    text_task.refresh_from_db()
    assert (text_task.status, text_task.retry_count) == (Status.PENDING, 1)
    assert text_task.scheduled_at == NOW + timedelta(seconds=60)
    _due(text_task)
    publish_due(run_seconds=5)
    text_task.refresh_from_db()
    assert (text_task.status, text_task.retry_count) == (Status.PENDING, 2)
    assert text_task.scheduled_at == NOW + timedelta(seconds=120)  # 60 * 2**1
    _due(text_task)
    publish_due(run_seconds=5)
    text_task.refresh_from_db()
    assert (text_task.status, text_task.retry_count) == (Status.FAILED, 3)
    assert list(text_task.logs.values_list("error_kind", flat=True)) == [ErrorKind.SERVER] * 3


@responses.activate
def test_a_network_error_is_retried(text_task):
    responses.post(TWEETS, body=requests.ConnectionError("connection reset"))
    publish_due(run_seconds=5)
    text_task.refresh_from_db()
    assert (text_task.status, text_task.retry_count, text_task.maybe_posted) == (Status.PENDING, 1, False)
    assert text_task.logs.get().error_kind == ErrorKind.NETWORK


@responses.activate
def test_401_flags_the_project_and_pauses_its_queue(text_task, x_project):
    other = _due(task_create(project=x_project, text="Second"))
    responses.post(TWEETS, json={"title": "Unauthorized"}, status=401)
    publish_due(run_seconds=5)
    x_project.refresh_from_db()
    assert x_project.needs_credentials
    statuses = set(PublishingTask.objects.filter(pk__in=[text_task.pk, other.pk]).values_list("status", "retry_count"))
    assert statuses == {(Status.PENDING, 0)}
    assert PublishingLog.objects.filter(error_kind=ErrorKind.AUTH).count() == 1  # the second was never tried
    publish_due(run_seconds=5)
    assert len(responses.calls) == 1  # paused: nothing claimed


@responses.activate
def test_403_duplicate_fails_as_duplicate(text_task):
    responses.post(
        TWEETS,
        json={
            "detail": "You are not allowed to create a Tweet with duplicate content.",
            "status": 403,
            "title": "Forbidden",
        },
        status=403,
    )
    publish_due(run_seconds=5)
    text_task.refresh_from_db()
    assert text_task.status == Status.FAILED
    assert text_task.logs.get().error_kind == ErrorKind.DUPLICATE


@responses.activate
def test_403_duplicate_after_a_timeout_means_already_posted(text_task):
    responses.post(TWEETS, body=requests.ReadTimeout("read timed out"))
    publish_due(run_seconds=5)
    text_task.refresh_from_db()
    assert text_task.status == Status.PENDING and text_task.maybe_posted
    responses.replace(
        responses.POST,
        TWEETS,
        status=403,
        json={"detail": "You are not allowed to create a Tweet with duplicate content.", "status": 403},
    )
    _due(text_task)
    publish_due(run_seconds=5)
    text_task.refresh_from_db()
    assert text_task.status == Status.SUCCESS
    assert list(text_task.logs.order_by("id").values_list("status", "error_kind")) == [
        (LogStatus.FAILED, ErrorKind.NETWORK),
        (LogStatus.SUCCESS, ErrorKind.NONE),
    ]


@responses.activate
def test_credentials_never_reach_logs_or_errors(text_task, caplog):
    responses.post(TWEETS, json={"title": "Unauthorized"}, status=401)
    publish_due(run_seconds=5)
    stored = " ".join(f"{log.error_message} {log.tweet_content}" for log in PublishingLog.objects.all())
    stored += " " + PublishingTask.objects.get(pk=text_task.pk).last_error
    for secret in SECRETS.values():
        assert secret not in stored
        assert secret not in caplog.text
    # and at rest they are ciphertext
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT x_access_token FROM publishing_project WHERE id = %s", [text_task.project_id])
        assert SECRETS["x_access_token"] not in cursor.fetchone()[0]
    assert Project.objects.get(pk=text_task.project_id).x_access_token == SECRETS["x_access_token"]


@responses.activate
def test_each_live_task_renews_its_lease_and_a_lost_one_is_not_posted(x_project, settings):
    """Two live tasks in one batch: the first upload is slow enough that the second task's
    original lease has run out and another worker took it back. This worker must skip it."""
    from publishing import queue

    settings.PUBLISHING_LEASE_SECONDS = 60
    first = _due(task_create(project=x_project, text="first"))
    second = _due(task_create(project=x_project, text="second"))
    posted = []

    def slow_post(request):
        posted.append(json.loads(request.body)["text"])
        # A minute passes during this upload: the batch's claim-time lease runs out and
        # another worker's reclaim runs. The task being posted keeps a live lease (it was
        # renewed when its post began; here that renewal is moved into that minute).
        later = NOW + timedelta(seconds=61)
        PublishingTask.objects.filter(pk=first.pk).update(lease_expires_at=later + timedelta(seconds=60))
        assert queue.TASK_LEASE.take_back(now=later) == 1  # the second task only
        return (201, {}, json.dumps({"data": {"id": str(len(posted)), "text": "x"}}))

    responses.add_callback(responses.POST, TWEETS, callback=slow_post)
    stats = publish_due(run_seconds=5, max_batches=1)
    assert posted == ["first"]
    assert stats.published == 1 and stats.lost == 1
    second.refresh_from_db()
    assert second.status == PublishingTask.Status.PENDING and second.maybe_posted
    first.refresh_from_db()
    assert first.status == PublishingTask.Status.SUCCESS


def test_renewing_extends_the_lease_only_while_the_task_is_held(x_project, settings):
    from publishing import queue

    settings.PUBLISHING_LEASE_SECONDS = 60
    task = _due(task_create(project=x_project, text="held"))
    [claimed] = queue.task_claim_due(worker_id="w1", limit=1, only_projects=[x_project.pk]).tasks
    later = NOW + timedelta(seconds=30)
    assert queue.task_renew_lease(claimed, now=later)
    claimed.refresh_from_db()
    assert claimed.lease_expires_at == later + timedelta(seconds=60)
    assert queue.TASK_LEASE.take_back(now=later + timedelta(seconds=61)) == 1
    assert not queue.task_renew_lease(claimed, now=later + timedelta(seconds=62))
    task.refresh_from_db()
    assert task.status == PublishingTask.Status.PENDING
