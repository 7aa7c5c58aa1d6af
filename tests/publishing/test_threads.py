"""Threads: posted in order, each reply answering the post before; a failure midway resumes
where it stopped, and nothing already on X is posted again. Driven by the real tweepy
client against the X double (which records each post's ``in_reply_to``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publishing.composer import PostIn, post_create
from publishing.models import PublishingLog, PublishingTask, ThreadReply
from publishing.runner import publish_due
from tests.clock import NOW

from .xdouble import XDouble

pytestmark = pytest.mark.django_db
TEXTS = [f"Thread post {n} of five" for n in range(1, 6)]


@pytest.fixture
def double(settings):
    with XDouble() as double:
        settings.PUBLISHING_X_BASE_URL = double.url
        yield double


def _thread(project, texts=TEXTS):
    return post_create(project=project, posts=[PostIn(text=t) for t in texts], scheduled_at=NOW - timedelta(minutes=1))


def test_a_thread_of_five_failing_at_post_three_resumes_there_and_posts_each_once(x_project, double, time_machine):
    time_machine.move_to(NOW, tick=False)
    task = _thread(x_project)
    double.fail_texts[TEXTS[2]] = 1  # one 503 at post 3

    first = publish_due(max_batches=1)
    task.refresh_from_db()
    assert first.retried == 1
    assert task.status == PublishingTask.Status.PENDING
    assert [c.text for c in double.creations] == TEXTS[:2]

    time_machine.move_to(task.scheduled_at + timedelta(seconds=1), tick=False)
    second = publish_due(max_batches=1)
    task.refresh_from_db()
    assert second.published == 1
    assert task.status == PublishingTask.Status.SUCCESS

    creations = double.creations
    assert [c.text for c in creations] == TEXTS  # 1-2 once, then 3-5 in order
    assert creations[0].in_reply_to == ""
    assert [c.in_reply_to for c in creations[1:]] == [c.tweet_id for c in creations[:-1]]
    assert task.posted_id == creations[0].tweet_id
    replies = list(ThreadReply.objects.filter(task=task).order_by("position").values_list("posted_id", flat=True))
    assert replies == [c.tweet_id for c in creations[1:]]
    log = PublishingLog.objects.filter(task=task, status=PublishingLog.Status.SUCCESS).get()
    assert log.tweet_id == creations[0].tweet_id


def test_a_failure_at_the_first_post_posts_nothing_and_the_retry_starts_at_the_first(x_project, double, time_machine):
    time_machine.move_to(NOW, tick=False)
    task = _thread(x_project, TEXTS[:3])
    double.fail_texts[TEXTS[0]] = 1
    publish_due(max_batches=1)
    assert double.creations == []
    task.refresh_from_db()
    time_machine.move_to(task.scheduled_at + timedelta(seconds=1), tick=False)
    publish_due(max_batches=1)
    assert [c.text for c in double.creations] == TEXTS[:3]


def test_a_dry_run_thread_records_an_id_for_every_reply_in_one_batch(project, time_machine):
    time_machine.move_to(NOW, tick=False)
    tasks = [_thread(project, [f"{t} ({n})" for t in TEXTS[:3]]) for n in range(3)]
    stats = publish_due(max_batches=1)
    assert stats.published == 3 and stats.thread_posts == 6
    ids = set(ThreadReply.objects.filter(task__in=tasks).values_list("posted_id", flat=True))
    assert ids == {f"dry-run-{t.pk}-{p}" for t in tasks for p in (1, 2)}
