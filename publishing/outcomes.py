"""What each publishing attempt does to its task, its project and the log.

Every attempt writes one PublishingLog row with its duration, in the same transaction as
the task's state change (a version-checked UPDATE). The outcomes by error kind:

- ``rate_limit`` (429): back to pending at X's reset time; not a failed attempt.
- ``network`` / ``server`` (5xx): retried after an exponential back-off, then failed.
- ``auth`` (401): the project is flagged ``needs_credentials`` (its queue pauses); the
  task waits, uncounted, for new credentials.
- ``duplicate`` (403): failed as a duplicate — unless an earlier attempt of this task may
  have reached X (``maybe_posted``), in which case the post is already there: success.
- ``media`` / ``other``: failed; retrying would not help.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cradle_site.retry import Backoff
from publishing import queue
from publishing.models import Project, PublishingLog, PublishingTask
from publishing.publishers import PublishError, PublishResult

Status = PublishingTask.Status


def task_backoff() -> Backoff:
    """Network errors and 5xx: the first attempt plus ``PUBLISHING_MAX_RETRIES`` retries."""
    return Backoff(
        base=settings.PUBLISHING_RETRY_BASE_SECONDS,
        cap=settings.PUBLISHING_RETRY_MAX_SECONDS,
        max_attempts=settings.PUBLISHING_MAX_RETRIES + 1,
    )


def _log(task: PublishingTask, *, status: str, duration: float, kind: str = "", message: str = "", tweet_id: str = ""):
    return PublishingLog.objects.create(
        task=task,
        tweet_id=tweet_id,
        tweet_content=task.text,
        published_at=timezone.now(),
        status=status,
        error_kind=kind,
        error_message=message[:4000],
        duration_seconds=duration,
    )


def apply_success(task: PublishingTask, result: PublishResult, *, duration: float, note: str = "") -> bool:
    with transaction.atomic():
        moved = queue.task_transition(
            task,
            expect_status=Status.LOCKED,
            status=Status.SUCCESS,
            published_at=timezone.now(),
            last_error="",
            **queue.TASK_LEASE.released(),
        )
        if not moved:
            note = (note + " " if note else "") + "(the lease ran out before this worker finished)"
        _log(task, status=PublishingLog.Status.SUCCESS, duration=duration, tweet_id=result.tweet_id, message=note)
    return moved


def apply_failure(task: PublishingTask, error: PublishError, *, duration: float, skipped: bool = False) -> str:
    """Record a failed (or skipped) attempt; return "failed", "retry", "waiting" or "published"."""
    now = timezone.now()
    kind = error.kind
    if kind == "duplicate" and not skipped and (task.maybe_posted or error.maybe_posted):
        apply_success(
            task,
            PublishResult(tweet_id="", text=task.text),
            duration=duration,
            note="X reports a duplicate after an earlier attempt may have posted: treated as published.",
        )
        return "published"
    log_status = PublishingLog.Status.SKIPPED if skipped else PublishingLog.Status.FAILED
    maybe_posted = task.maybe_posted or error.maybe_posted
    if skipped:
        changes, outcome = {"status": Status.CANCELLED}, "failed"
    elif kind == "rate_limit":
        changes, outcome = {"status": Status.PENDING, "scheduled_at": error.retry_at or now}, "waiting"
    elif kind == "auth":
        changes, outcome = {"status": Status.PENDING}, "waiting"
    elif kind in ("network", "server"):
        retries = task.retry_count + 1  # failed attempts so far, this one included
        retry = task_backoff()
        if retry.exhausted(retries):
            changes, outcome = {"status": Status.FAILED, "retry_count": retries}, "failed"
        else:
            changes = {"status": Status.PENDING, "retry_count": retries, "scheduled_at": now + retry.delay(retries)}
            outcome = "retry"
    else:
        changes, outcome = {"status": Status.FAILED}, "failed"
    with transaction.atomic():
        if kind == "auth":
            Project.objects.filter(pk=task.project_id).update(needs_credentials=True)
        queue.task_transition(
            task,
            expect_status=Status.LOCKED,
            last_error=f"{kind}: {error.message}"[:2000],
            maybe_posted=maybe_posted,
            **changes,
            **queue.TASK_LEASE.released(),
        )
        _log(task, status=log_status, duration=duration, kind=kind, message=error.message)
    return outcome


def release_tasks(tasks: list[PublishingTask], *, scheduled_at: datetime | None = None) -> int:
    """Hand claimed but unattempted tasks back to the queue (no log: nothing was tried)."""
    if scheduled_at is None:
        return len(
            queue.tasks_transition_many(
                tasks, expect_status=Status.LOCKED, status=Status.PENDING, **queue.TASK_LEASE.released()
            )
        )
    released = 0
    for task in tasks:
        changes = {"status": Status.PENDING, **queue.TASK_LEASE.released()}
        if scheduled_at > task.scheduled_at:
            changes["scheduled_at"] = scheduled_at
        released += queue.task_transition(task, expect_status=Status.LOCKED, **changes)
    return released
