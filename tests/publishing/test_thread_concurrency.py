"""Four real worker processes on MariaDB publish 500 threads: every post of every thread is
created exactly once on the X double, in order, each reply answering the post before it.
(The shape of test_concurrency.py; "once" is counted at the double, by text.)"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from publishing.factories import tasks_bulk_create
from publishing.models import PublishingTask, ThreadReply
from tests.conftest import run_python

from .xdouble import XDouble

pytestmark = [pytest.mark.mariadb_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKER = """
from publishing.runner import publish_due
stats = publish_due(run_seconds=240)
print(stats.published, stats.thread_posts)
"""


def test_four_workers_post_500_threads_exactly_once_and_in_order(x_project):
    n = 500
    tasks_bulk_create(
        project=x_project,
        count=n,
        scheduled_at=timezone.now() - timedelta(minutes=5),
        label="threads",
        priority_levels=3,
        thread_every=1,
        thread_replies=2,
    )
    with XDouble() as double:
        workers = [run_python(WORKER, PUBLISHING_X_BASE_URL=double.url) for _ in range(4)]
        outputs = [worker.communicate(timeout=300) for worker in workers]
        for worker, (_out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err[-2000:]
        creations = list(double.creations)
        assert double.refused == 0
    published = [int(out.split()[0]) for out, _ in outputs]
    assert sum(published) == n
    assert sum(1 for p in published if p) >= 2  # the work really was shared

    by_text = Counter(c.text for c in creations)
    expected = {f"threads post {i}{tail}" for i in range(n) for tail in ("", " reply 1", " reply 2")}
    assert set(by_text) == expected and set(by_text.values()) == {1}
    id_of = {c.text: c.tweet_id for c in creations}
    answered = {c.text: c.in_reply_to for c in creations}
    for i in range(n):
        head, first, second = (f"threads post {i}{tail}" for tail in ("", " reply 1", " reply 2"))
        assert (answered[head], answered[first], answered[second]) == ("", id_of[head], id_of[first])
    assert PublishingTask.objects.filter(status=PublishingTask.Status.SUCCESS).count() == n
    assert not ThreadReply.objects.filter(posted_id="").exists()
