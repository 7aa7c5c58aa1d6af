"""Media that lives elsewhere (feed enclosures, Drive files): found by the scan, streamed
by the publisher into a temporary file, uploaded by the real tweepy code to an X double."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from publishing.models import PublishingLog, PublishingTask
from publishing.runner import publish_due
from publishing.scan import source_scan
from publishing.services import source_create

from .conftest import png_bytes

UPLOAD = "https://upload.twitter.com/1.1/media/upload.json"
TWEETS = "https://api.twitter.com/2/tweets"
FEED = "https://blog.example/feed.xml"
Status = PublishingTask.Status
ErrorKind = PublishingLog.ErrorKind
PICTURE = "https://cdn.blog.example/pics/cat%20one.png"
FEED_XML = f"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Blog</title>
<item><title>With a picture</title><link>https://blog.example/1</link><guid>g-1</guid>
  <enclosure url="{PICTURE}" length="70" type="image/png"/></item>
<item><title>A podcast</title><link>https://blog.example/2</link><guid>g-2</guid>
  <enclosure url="https://cdn.blog.example/show.mp3" length="9" type="audio/mpeg"/></item>
<item><title>Media RSS</title><link>https://blog.example/3</link><guid>g-3</guid>
  <media:content url="https://cdn.blog.example/clip.mp4" medium="video"/></item>
</channel></rss>"""


def _scan_feed(project) -> None:
    responses.get(FEED, body=FEED_XML, content_type="application/rss+xml")
    source = source_create(project=project, source_type="rss_feed", path_or_identifier=FEED)
    assert source_scan(source=source).created == 3


def _make_due(key: str) -> PublishingTask:
    PublishingTask.objects.exclude(media_path=key).delete()
    PublishingTask.objects.filter(media_path=key).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    return PublishingTask.objects.get(media_path=key)


def _upload_and_post() -> None:
    responses.post(UPLOAD, json={"media_id": 710, "media_id_string": "710", "size": 70})
    responses.post(TWEETS, json={"data": {"id": "1234", "text": "ok"}}, status=201)


@responses.activate
def test_the_scan_takes_each_entrys_first_image_or_video_and_nothing_else(project):
    _scan_feed(project)
    media = {t.media_path: t.content_data["media"] for t in PublishingTask.objects.all()}
    assert media["rss:g-1"] == {"kind": "url", "url": PICTURE, "mime_type": "image/png"}
    assert media["rss:g-2"] is None  # audio is not something X can post
    assert media["rss:g-3"] == {"kind": "url", "url": "https://cdn.blog.example/clip.mp4", "mime_type": ""}


@responses.activate
def test_an_enclosure_is_downloaded_and_uploaded_with_the_post(x_project):
    _scan_feed(x_project)
    task = _make_due("rss:g-1")
    responses.get(PICTURE, body=png_bytes(7), content_type="image/png")
    _upload_and_post()

    publish_due(run_seconds=5)

    urls = [call.request.url for call in responses.calls]
    assert urls[-3:] == [PICTURE, UPLOAD, TWEETS]
    upload = responses.calls[-2].request
    assert b'filename="cat one.png"' in upload.body and png_bytes(7) in upload.body
    tweet = json.loads(responses.calls[-1].request.body)
    assert tweet == {"text": "With a picture https://blog.example/1", "media": {"media_ids": ["710"]}}
    task.refresh_from_db()
    assert task.status == Status.SUCCESS


@responses.activate
def test_a_drive_file_is_streamed_from_drive_and_uploaded(x_project, settings):
    settings.PUBLISHING_GOOGLE_DRIVE_BASE_URL = "http://drive.test"
    responses.get(
        "http://drive.test/drive/v3/files",
        json={"files": [{"id": "f1", "name": "a.png", "mimeType": "image/png", "description": "From Drive"}]},
    )
    responses.get("http://drive.test/drive/v3/files/f1", body=png_bytes(3), content_type="image/png")
    source = source_create(
        project=x_project, source_type="google_drive", path_or_identifier="FOLDER1", credential="ya29.token"
    )
    assert source_scan(source=source).created == 1
    task = _make_due("gdrive:f1")
    _upload_and_post()

    publish_due(run_seconds=5)

    download = next(
        c.request for c in responses.calls if c.request.url.startswith("http://drive.test/drive/v3/files/f1")
    )
    assert "alt=media" in download.url and download.headers["Authorization"] == "Bearer ya29.token"
    upload = next(c.request for c in responses.calls if c.request.url == UPLOAD)
    assert b'filename="a.png"' in upload.body and png_bytes(3) in upload.body
    task.refresh_from_db()
    assert task.status == Status.SUCCESS


@pytest.mark.parametrize("declared", [True, False], ids=["by Content-Length", "by the bytes that arrive"])
@responses.activate
def test_media_over_the_size_limit_fails_the_task_without_posting(x_project, settings, declared):
    settings.PUBLISHING_MEDIA_MAX_BYTES = 50
    _scan_feed(x_project)
    task = _make_due("rss:g-1")
    headers = {"Content-Length": "70"} if declared else {}
    responses.get(PICTURE, body=png_bytes(1) + b"\0" * 200, content_type="image/png", headers=headers)

    publish_due(run_seconds=5)

    task.refresh_from_db()
    log = task.logs.get()
    assert (task.status, log.error_kind) == (Status.FAILED, ErrorKind.MEDIA)
    assert "50 bytes allowed" in log.error_message
    assert not any(call.request.url in (UPLOAD, TWEETS) for call in responses.calls)


@responses.activate
def test_a_missing_enclosure_fails_as_media_and_a_flaky_host_is_retried(x_project):
    _scan_feed(x_project)
    task = _make_due("rss:g-1")
    responses.get(PICTURE, status=503)
    publish_due(run_seconds=5)
    task.refresh_from_db()
    assert (task.status, task.retry_count, task.logs.get().error_kind) == (Status.PENDING, 1, ErrorKind.NETWORK)

    PublishingTask.objects.filter(pk=task.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    responses.replace(responses.GET, PICTURE, status=404)
    publish_due(run_seconds=5)
    task.refresh_from_db()
    assert task.status == Status.FAILED
    assert task.logs.order_by("-id").first().error_kind == ErrorKind.MEDIA
    assert not any(call.request.url == TWEETS for call in responses.calls)
