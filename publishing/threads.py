"""Threads: a post and its replies, posted in order, each in reply to the one before.

The task is the unit that is claimed, leased and finished (``publishing.queue``); its
posts are the task's own content (position 0) and its ``ThreadReply`` rows (1, 2, ...).
Each post's id on X is written the moment X answers, in its own small UPDATE, before the
next post is attempted (``thread_record``). So when post 3 fails, posts 1 and 2 keep their
ids; the retry (the task goes back to the queue through the usual outcomes) starts at
post 3 and answers post 2's id, and nothing already on X is posted again.

The id is written whether or not this worker still holds the lease: the post is on X
either way, and forgetting that would post it twice. A worker that lost its lease stops at
its next ``keep_alive`` (``queue.LeaseKeeper``) before posting anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from publishing.content import media_of
from publishing.models import PublishingTask, ThreadReply


@dataclass(frozen=True)
class ThreadPost:
    position: int  # 0 is the task's own post
    text: str
    media: list[tuple[dict, str]]  # (media, alt text)
    posted_id: str


def thread_posts(task: PublishingTask) -> list[ThreadPost]:
    """The task's posts in order (one query for the replies, none for a single post)."""
    head = ThreadPost(0, task.text, media_of(task.content_data), task.posted_id)
    if not task.reply_count:
        return [head]
    replies = ThreadReply.objects.filter(task_id=task.pk).order_by("position")
    return [head] + [ThreadPost(r.position, r.text, media_of(r.content_data), r.posted_id) for r in replies]


def thread_record(task: PublishingTask, position: int, posted_id: str, *, now: datetime | None = None) -> None:
    """Remember that post ``position`` of ``task`` is on X as ``posted_id`` (see the module doc)."""
    if position == 0:
        # Not a state change: no version bump, so the holder's later transitions still match.
        PublishingTask.objects.filter(pk=task.pk, posted_id="").update(posted_id=posted_id)
        task.posted_id = posted_id
    else:
        ThreadReply.objects.filter(task_id=task.pk, position=position, posted_id="").update(
            posted_id=posted_id, posted_at=now or timezone.now()
        )


def dry_run_replies_record(task_ids: Iterable[int], *, now: datetime) -> int:
    """The dry run's replies of finished tasks, all at once: ``dry-run-<task>-<position>``."""
    ids = list(task_ids)
    if not ids:
        return 0
    posted_id = Concat(
        Value("dry-run-"),
        Cast(F("task_id"), models.CharField()),
        Value("-"),
        Cast(F("position"), models.CharField()),
        output_field=models.CharField(),
    )
    return ThreadReply.objects.filter(task_id__in=ids, posted_id="").update(posted_id=posted_id, posted_at=now)
