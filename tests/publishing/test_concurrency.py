"""Several real worker processes on MariaDB: every due task is posted exactly once.

"Once" is counted at the X double: every post it created, matched to its task (by text, or
by media hash for a post without text). X's duplicate refusal (which the double answers as
X does) would hide a second post of a text; the count does not.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from publishing.factories import tasks_bulk_create
from publishing.holds import HELD_REASON
from publishing.models import PublishingLog, PublishingTask
from publishing.runner import publish_due
from publishing.services import task_create
from tests.conftest import run_python

from .conftest import png_bytes
from .xdouble import XDouble

pytestmark = [pytest.mark.mariadb_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _due_tasks(project, n: int, prefix: str) -> None:
    past = timezone.now() - timedelta(minutes=5)
    tasks_bulk_create(project=project, count=n, scheduled_at=past, label=prefix, priority_levels=3, batch_size=1000)


WORKER = """
from publishing.runner import publish_due
stats = publish_due(run_seconds=120)
print(stats.published, stats.claimed)
"""


def test_four_workers_post_every_task_exactly_once(x_project):
    n = 2000
    _due_tasks(x_project, n, "many")
    with XDouble() as double:
        workers = [run_python(WORKER, PUBLISHING_X_BASE_URL=double.url) for _ in range(4)]
        outputs = [worker.communicate(timeout=180) for worker in workers]
        for worker, (_out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err[-2000:]
        published = [int(out.split()[0]) for out, _ in outputs]
        assert double.creations_per_task(PublishingTask.objects.all()) == dict.fromkeys(
            PublishingTask.objects.values_list("pk", flat=True), 1
        )
        assert double.refused == 0
    assert sum(published) == n
    assert sum(1 for p in published if p) >= 2  # the work really was shared
    assert PublishingTask.objects.filter(status=PublishingTask.Status.SUCCESS).count() == n
    assert PublishingLog.objects.filter(status=PublishingLog.Status.SUCCESS).count() == n


def test_tasks_of_a_killed_worker_are_posted_once_after_the_lease(x_project, settings):
    _due_tasks(x_project, 40, "killed")
    holder = run_python(
        "from publishing.queue import task_claim_due\n"
        "import sys, time\n"
        "print(len(task_claim_due(worker_id='doomed', limit=25).tasks), flush=True)\n"
        "time.sleep(600)\n",
        PUBLISHING_LEASE_SECONDS="10",
    )
    assert holder.stdout.readline().strip() == "25"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert PublishingTask.objects.filter(status=PublishingTask.Status.LOCKED, locked_by="doomed").count() == 25

    settings.PUBLISHING_X_BASE_URL = ""
    with XDouble() as double:
        settings.PUBLISHING_X_BASE_URL = double.url
        publish_due(run_seconds=30)  # the other 15 go now; the dead worker's 25 wait for the lease
        assert double.total == 15
        lease_end = (
            PublishingTask.objects.filter(status=PublishingTask.Status.LOCKED)
            .order_by("-lease_expires_at")[0]
            .lease_expires_at
        )
        time.sleep(max((lease_end - timezone.now()).total_seconds(), 0) + 0.5)
        stats = publish_due(run_seconds=30)
        assert stats.reclaimed == 25
        assert double.creations_per_task(PublishingTask.objects.all()) == dict.fromkeys(
            PublishingTask.objects.values_list("pk", flat=True), 1
        )
    assert PublishingTask.objects.filter(status=PublishingTask.Status.SUCCESS).count() == 40
    assert PublishingTask.objects.filter(status=PublishingTask.Status.SUCCESS, maybe_posted=True).count() == 25


def _wait_for_lease_end() -> None:
    lease_end = PublishingTask.objects.filter(status=PublishingTask.Status.LOCKED).get().lease_expires_at
    time.sleep(max((lease_end - timezone.now()).total_seconds(), 0) + 0.5)


@pytest.mark.parametrize("with_text", [False, True], ids=["media-only", "text"])
def test_a_worker_killed_after_x_took_its_post_never_leads_to_a_second_post(x_project, media_root, settings, with_text):
    """SIGKILL while X holds the created post and the worker waits for the answer: the next
    worker re-claims the task (``maybe_posted``); a media-only post is held for its owner, a
    text post is sent again and ends on X's duplicate refusal. One creation either way."""
    path = media_root / "dog.png"
    path.write_bytes(png_bytes(9))
    text = "A dog and a ball" if with_text else ""
    task = task_create(project=x_project, text=text, media_path=str(path), scheduled_at=timezone.now())
    with XDouble() as double:
        double.hang_after_create = True
        worker = run_python(
            WORKER,
            PUBLISHING_X_BASE_URL=double.url,
            PUBLISHING_LEASE_SECONDS="10",
            PUBLISHING_LOCAL_ROOTS=str(media_root.parent),
        )
        deadline = time.monotonic() + 60
        while not double.created.wait(timeout=0.2):
            if worker.poll() is not None or time.monotonic() > deadline:
                worker.kill()
                pytest.fail(f"the worker never reached X: {worker.communicate()[1][-2000:]}")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        double.hang_after_create = False
        assert double.creations_per_task([task]) == {task.pk: 1}

        settings.PUBLISHING_X_BASE_URL = double.url
        _wait_for_lease_end()
        stats = publish_due(run_seconds=30)

        assert stats.reclaimed == 1
        assert double.creations_per_task([task]) == {task.pk: 1}
    task.refresh_from_db()
    last = task.logs.order_by("-id").first()
    if with_text:
        assert (task.status, double.refused) == (PublishingTask.Status.SUCCESS, 1)
        assert "treated as published" in last.error_message
    else:
        assert (task.status, task.last_error, stats.held) == (PublishingTask.Status.HELD, HELD_REASON, 1)
        assert (last.status, last.error_message) == (PublishingLog.Status.SKIPPED, HELD_REASON)
