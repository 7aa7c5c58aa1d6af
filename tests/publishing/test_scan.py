"""Scans: idempotent, counters right, all or nothing; the three source kinds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses
import time_machine
from django.db import DatabaseError, connection

from publishing.models import ContentSource, PublishingTask
from publishing.scan import source_scan
from publishing.services import source_create

from .conftest import png_bytes


def _fill(folder, n, start=0):
    for i in range(start, start + n):
        (folder / f"img{i:03}.png").write_bytes(png_bytes(i))
        (folder / f"img{i:03}.txt").write_text(f"Picture number {i}")


def test_it_turns_files_and_captions_into_tasks(folder_source, media_root):
    _fill(media_root, 2)
    (media_root / "clip.mp4").write_bytes(b"video")
    (media_root / "clip.json").write_text(json.dumps({"text": "A clip", "alt_text": "Moving things"}))
    (media_root / "notes.md").write_text("ignored")
    result = source_scan(source=folder_source)
    assert (result.created, result.total) == (3, 3)
    clip = PublishingTask.objects.get(media_path=str(media_root / "clip.mp4"))
    assert clip.content_data == {
        "text": "A clip",
        "alt_text": "Moving things",
        "media": {"kind": "file", "path": str(media_root / "clip.mp4")},
    }
    assert clip.source == folder_source and clip.status == PublishingTask.Status.PENDING


def test_a_second_scan_creates_nothing_and_counters_stay_right(folder_source, media_root):
    _fill(media_root, 5)
    assert source_scan(source=folder_source).created == 5
    assert source_scan(source=folder_source).created == 0
    _fill(media_root, 2, start=5)
    assert source_scan(source=folder_source).created == 2
    folder_source.refresh_from_db()
    assert (folder_source.total_items, folder_source.used_items) == (7, 7)
    assert PublishingTask.objects.count() == 7


def test_new_tasks_take_distinct_free_slots_within_the_cap(folder_source, media_root, project):
    project.slot_interval_minutes = None
    project.slot_times = ["09:00", "18:00"]
    project.daily_cap = 1
    project.save()
    _fill(media_root, 3)
    with time_machine.travel(datetime(2026, 3, 2, 6, 0, tzinfo=UTC), tick=False):
        source_scan(source=folder_source)
    slots = sorted(PublishingTask.objects.values_list("scheduled_at", flat=True))
    assert len({slot.date() for slot in slots}) == 3  # one a day
    assert all(slot.hour == 9 and slot.minute == 0 for slot in slots)


@pytest.mark.django_db(transaction=True)
def test_a_scan_failing_halfway_leaves_no_partial_tasks(owner, media_root):
    from publishing.services import project_create

    project = project_create(owner=owner, name="Halfway")
    source = source_create(project=project, source_type="local_folder", path_or_identifier=str(media_root))
    _fill(media_root, 6)
    poison = str(media_root / "img004.png")
    table = PublishingTask._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER poison BEFORE INSERT ON {table} WHEN NEW.media_path = '{poison}' "
                "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER poison BEFORE INSERT ON {table} FOR EACH ROW BEGIN "
                f"IF NEW.media_path = '{poison}' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned row'; "
                "END IF; END"
            )
    try:
        with pytest.raises(DatabaseError):
            source_scan(source=source, batch_size=2)  # rows 0-3 go in two batches before row 4 fails
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER poison")
    assert PublishingTask.objects.count() == 0
    source.refresh_from_db()
    assert (source.total_items, source.used_items) == (0, 0)
    assert source_scan(source=source).created == 6


def test_a_folder_outside_the_allowed_roots_is_refused(project, tmp_path):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        source_create(project=project, source_type="local_folder", path_or_identifier="/etc")
    assert "path_or_identifier" in error.value.message_dict


@responses.activate
def test_rss_creates_new_entries_only_by_guid(project):
    feed = """<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>
    <item><title>First post</title><link>https://blog.example/1</link><guid>g-1</guid></item>
    <item><title>Second post</title><link>https://blog.example/2</link><guid>g-2</guid></item>
    </channel></rss>"""
    responses.get("https://blog.example/feed.xml", body=feed, content_type="application/rss+xml")
    source = source_create(project=project, source_type="rss_feed", path_or_identifier="https://blog.example/feed.xml")
    assert source_scan(source=source).created == 2
    responses.replace(
        responses.GET,
        "https://blog.example/feed.xml",
        body=feed.replace(
            "</channel>",
            "<item><title>Third</title><link>https://blog.example/3</link><guid>g-3</guid></item></channel>",
        ),
    )
    assert source_scan(source=source).created == 1
    assert PublishingTask.objects.get(media_path="rss:g-3").text == "Third https://blog.example/3"


@responses.activate
def test_rss_fetch_failure_is_recorded_not_raised(project):
    responses.get("https://blog.example/feed.xml", status=500)
    source = source_create(project=project, source_type="rss_feed", path_or_identifier="https://blog.example/feed.xml")
    result = source_scan(source=source)
    assert result.created == 0 and "500" in result.error
    assert "500" in ContentSource.objects.get(pk=source.pk).last_error


@responses.activate
def test_google_drive_lists_the_folder_through_the_v3_api(project, settings):
    settings.PUBLISHING_GOOGLE_DRIVE_BASE_URL = "http://drive.test"
    files = "http://drive.test/drive/v3/files"
    responses.get(
        files,
        match=[responses.matchers.query_param_matcher({"pageToken": "p2"}, strict_match=False)],
        json={"files": [{"id": "f3", "name": "c.png", "mimeType": "image/png", "md5Checksum": "m3"}]},
    )
    responses.get(
        files,
        json={
            "nextPageToken": "p2",
            "files": [
                {"id": "f1", "name": "a.png", "mimeType": "image/png", "description": "Hello", "md5Checksum": "m1"},
                {"id": "f2", "name": "b.mp4", "mimeType": "video/mp4", "md5Checksum": "m2"},
            ],
        },
    )
    source = source_create(
        project=project, source_type="google_drive", path_or_identifier="FOLDER1", credential="ya29.token"
    )
    assert source_scan(source=source).created == 3
    first = responses.calls[0].request
    assert first.headers["Authorization"] == "Bearer ya29.token"
    assert "%27FOLDER1%27+in+parents" in first.url
    assert PublishingTask.objects.get(media_path="gdrive:f1").content_data["media"]["file_id"] == "f1"
    assert source_scan(source=source).created == 0
