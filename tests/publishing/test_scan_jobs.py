"""Scans run as jobs: the page and the API answer at once while a slow feed is scanned by the
job, with progress to see; the schedule claims one source at a time through the lease, so a
slow source does not hold up the others; each scan has a deadline."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import OrmQ

from publishing.models import ContentSource, PublishingTask
from publishing.scan_runs import source_scan_job, sources_scan_due
from publishing.services import project_create, source_create

from .conftest import png_bytes

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>
<item><title>One</title><link>https://blog.example/1</link><guid>s-1</guid></item>
<item><title>Two</title><link>https://blog.example/2</link><guid>s-2</guid></item>
</channel></rss>"""


class SlowFeed:
    """A feed on 127.0.0.1 that waits ``delay`` seconds before it answers."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.started = threading.Event()

    def __enter__(self) -> SlowFeed:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                feed.started.set()
                time.sleep(feed.delay)
                body = FEED.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _in_a_worker(target, *args) -> threading.Thread:
    """Run ``target`` as a job worker would: its own thread, its own database connection."""

    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _queued_job():
    (queued,) = OrmQ.objects.all()
    task = queued.task
    return import_string(task["func"]), task["args"]


@pytest.mark.django_db(transaction=True)
def test_the_page_answers_at_once_while_the_job_scans_a_slow_feed(client, owner, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    project = project_create(owner=owner, name="Slow")
    client.force_login(owner)
    with SlowFeed(delay=3) as feed:
        source = source_create(project=project, source_type="rss_feed", path_or_identifier=feed.url)
        status_url = reverse("publishing:source_scan_status", args=[source.pk])
        started = time.monotonic()
        response = client.post(reverse("publishing:source_scan", args=[source.pk]))
        assert time.monotonic() - started < 1.5
        assert response.status_code == 302 and not feed.started.is_set()
        assert client.get(status_url).json()["status"] == "queued"
        page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
        assert 'data-scan-status="queued"' in page and "publishing/scan_progress.js" in page

        func, args = _queued_job()
        worker = _in_a_worker(func, *args)
        assert feed.started.wait(timeout=10)
        during = client.get(status_url).json()
        assert during["status"] == "running" and during["label"].startswith("Scanning")
        assert during["started_at"] is not None and not during["finished"]
        worker.join(timeout=30)
    done = client.get(status_url).json()
    assert done["status"] == "done" and done["finished"]
    assert (done["items_seen"], done["items_added"]) == (2, 2)
    assert PublishingTask.objects.filter(source=source).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_api_rescan_answers_202_with_the_runs_status_url(api_client_for, owner, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    project = project_create(owner=owner, name="Slow API")
    api = api_client_for(owner, ["publishing:read", "publishing:write"])
    with SlowFeed(delay=3) as feed:
        source = source_create(project=project, source_type="rss_feed", path_or_identifier=feed.url)
        started = time.monotonic()
        response = api.post(f"/api/v1/publishing/sources/{source.pk}/scan")
        assert time.monotonic() - started < 1.5 and not feed.started.is_set()
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "queued" and response["Location"] == body["status_url"]
        func, args = _queued_job()
        _in_a_worker(func, *args).join(timeout=30)
    status = api.get(body["status_url"]).json()
    assert status["status"] == "done" and status["items_added"] == 2 and status["error"] == ""


@pytest.mark.django_db(transaction=True)
def test_a_slow_source_holds_one_worker_while_another_scans_the_rest(owner, media_root, settings):
    """Two schedule runs at once: the first claims the slow feed (due first) and waits on it;
    the second claims the other sources one by one and finishes them meanwhile."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    project = project_create(owner=owner, name="Mixed")
    folders = []
    for index in range(3):
        folder = media_root / f"f{index}"
        folder.mkdir()
        (folder / "a.png").write_bytes(png_bytes(index))
        folders.append(source_create(project=project, source_type="local_folder", path_or_identifier=str(folder)))
    with SlowFeed(delay=4) as feed:
        slow = source_create(project=project, source_type="rss_feed", path_or_identifier=feed.url)
        ContentSource.objects.filter(pk=slow.pk).update(next_scan_at=timezone.now() - timedelta(minutes=5))
        first = _in_a_worker(sources_scan_due)
        assert feed.started.wait(timeout=10)
        started = time.monotonic()
        sources_scan_due()  # the second worker
        assert time.monotonic() - started < 3, "the second worker waited on the slow source"
        for source in folders:
            source.refresh_from_db()
            assert source.used_items == 1 and source.scan_state == ContentSource.ScanState.IDLE
        assert ContentSource.objects.get(pk=slow.pk).scan_state == ContentSource.ScanState.RUNNING
        first.join(timeout=30)
    slow.refresh_from_db()
    assert slow.used_items == 2 and slow.scan_state == ContentSource.ScanState.IDLE
    assert slow.next_scan_at > timezone.now() + timedelta(minutes=settings.PUBLISHING_SCAN_MINUTES - 1)


def test_a_scan_past_its_deadline_stops_and_goes_to_the_back_of_the_line(folder_source, media_root, settings):
    for index in range(3):
        (media_root / f"{index}.png").write_bytes(png_bytes(index))
    settings.PUBLISHING_SCAN_DEADLINE_SECONDS = 0
    sources_scan_due()
    folder_source.refresh_from_db()
    assert folder_source.last_error == "The scan took too long and was stopped; it runs again later."
    assert folder_source.scan_status == ContentSource.ScanStatus.FAILED and folder_source.used_items == 0
    assert folder_source.scan_state == ContentSource.ScanState.IDLE
    assert folder_source.next_scan_at > timezone.now() + timedelta(minutes=settings.PUBLISHING_SCAN_MINUTES - 1)


def test_a_source_held_by_a_dead_worker_is_taken_back_when_its_lease_ends(folder_source, media_root):
    (media_root / "a.png").write_bytes(png_bytes(1))
    past = timezone.now() - timedelta(seconds=1)
    ContentSource.objects.filter(pk=folder_source.pk).update(
        scan_state=ContentSource.ScanState.RUNNING, scan_lease_expires_at=past, next_scan_at=past
    )
    assert sources_scan_due() == 1
    folder_source.refresh_from_db()
    assert folder_source.scan_state == ContentSource.ScanState.IDLE and folder_source.scan_lease_expires_at is None


def test_a_requested_scan_of_a_source_another_worker_holds_is_left_to_it(folder_source):
    lease = timezone.now() + timedelta(minutes=5)
    ContentSource.objects.filter(pk=folder_source.pk).update(
        scan_state=ContentSource.ScanState.RUNNING, scan_lease_expires_at=lease
    )
    assert source_scan_job(folder_source.pk) is None
    assert ContentSource.objects.get(pk=folder_source.pk).scan_lease_expires_at == lease


def test_the_schedule_leaves_paused_projects_and_inactive_sources_alone(folder_source, media_root, project):
    (media_root / "a.png").write_bytes(png_bytes(1))
    project.paused = True
    project.save()
    assert sources_scan_due() == 0
    project.paused = False
    project.save()
    ContentSource.objects.filter(pk=folder_source.pk).update(is_active=False)
    assert sources_scan_due() == 0
    ContentSource.objects.filter(pk=folder_source.pk).update(is_active=True)
    assert sources_scan_due() == 1
