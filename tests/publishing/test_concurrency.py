"""Several real worker processes on MariaDB: every due task is posted exactly once."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from publishing.factories import tasks_bulk_create
from publishing.models import PublishingLog, PublishingTask
from publishing.runner import publish_due
from tests.conftest import run_python

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
        assert double.total == n
        assert set(double.posts.values()) == {1}
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
        assert double.total == 40 and set(double.posts.values()) == {1}
    assert PublishingTask.objects.filter(status=PublishingTask.Status.SUCCESS).count() == 40
    assert PublishingTask.objects.filter(status=PublishingTask.Status.SUCCESS, maybe_posted=True).count() == 25
