"""What each publishing attempt does to its task, its project and the log.

Every attempt writes one PublishingLog row with its duration, in the same transaction as
the task's state change (a version-checked UPDATE). The outcomes by error kind:

- ``rate_limit`` (429): back to pending at X's reset time; not a failed attempt.
- ``network`` / ``server`` (5xx): retried after an exponential back-off, then failed.
- ``auth`` (401): the project is flagged ``needs_credentials`` (its queue pauses); the
  task waits, uncounted, for new credentials. A network account's copy flags that
  account ``needs_reconnect`` instead: only its copies wait.
- ``duplicate`` (403): failed as a duplicate — unless an earlier attempt of this task may
  have reached X (``maybe_posted``), in which case the post is already there: success.
- ``media`` / ``other``: failed; retrying would not help.

A task that may already be on X and that X cannot refuse a copy of is not attempted:
``apply_hold`` moves it to ``held`` for its owner with a skipped log row saying why
(``publishing.holds``).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cradle_site.retry import Backoff
from publishing import alerts, queue
from publishing.failures import ON_FAILURE, OnFailure, Outcome
from publishing.models import NetworkAccount, Project, PublishingLog, PublishingTask
from publishing.publishers import PublishError, PublishResult

Status = PublishingTask.Status
ErrorKind = PublishingLog.ErrorKind


def task_backoff() -> Backoff:
    """Network errors and 5xx: the first attempt plus ``PUBLISHING_MAX_RETRIES`` retries."""
    return Backoff(
        base=settings.PUBLISHING_RETRY_BASE_SECONDS,
        cap=settings.PUBLISHING_RETRY_MAX_SECONDS,
        max_attempts=settings.PUBLISHING_MAX_RETRIES + 1,
    )


def log_attempt(
    task: PublishingTask, *, status: str, duration: float, kind: str = "", message: str = "", tweet_id: str = ""
) -> PublishingLog:
    """The task's log row for one attempt (or an owner's decision that stands for one)."""
    return PublishingLog.objects.create(
        task=task,
        project_id=task.project_id,
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
        log_attempt(
            task, status=PublishingLog.Status.SUCCESS, duration=duration, tweet_id=result.tweet_id, message=note
        )
    # After the commit, never inside it: an alert row is not the publishing's business.
    alerts.task_published(task.project_id)
    return moved


def apply_failure(task: PublishingTask, error: PublishError, *, duration: float, skipped: bool = False) -> Outcome:
    """Record a failed (or skipped) attempt and say what it came to; ``failures.ON_FAILURE`` decides by kind."""
    now = timezone.now()
    kind = error.kind
    handling = ON_FAILURE[kind]
    if kind == ErrorKind.DUPLICATE and not skipped and (task.maybe_posted or error.maybe_posted):
        apply_success(
            task,
            PublishResult(tweet_id="", text=task.text),
            duration=duration,
            note="X reports a duplicate after an earlier attempt may have posted: treated as published.",
        )
        return Outcome.PUBLISHED
    log_status = PublishingLog.Status.SKIPPED if skipped else PublishingLog.Status.FAILED
    maybe_posted = task.maybe_posted or error.maybe_posted
    if skipped:
        changes, outcome = {"status": Status.CANCELLED}, Outcome.FAILED
    elif handling is OnFailure.WAIT_FOR_RESET:
        changes, outcome = {"status": Status.PENDING, "scheduled_at": error.retry_at or now}, Outcome.WAITING
    elif handling is OnFailure.WAIT_FOR_CREDENTIALS:
        changes, outcome = {"status": Status.PENDING}, Outcome.WAITING
    elif handling is OnFailure.RETRY:
        retries = task.retry_count + 1  # failed attempts so far, this one included
        retry = task_backoff()
        if retry.exhausted(retries):
            changes, outcome = {"status": Status.FAILED, "retry_count": retries}, Outcome.FAILED
        else:
            changes = {"status": Status.PENDING, "retry_count": retries, "scheduled_at": now + retry.delay(retries)}
            outcome = Outcome.RETRY
    else:
        changes, outcome = {"status": Status.FAILED}, Outcome.FAILED
    with transaction.atomic():
        if handling is OnFailure.WAIT_FOR_CREDENTIALS and task.account_id:
            # That account only: the project's X and its other accounts go on posting.
            NetworkAccount.objects.filter(pk=task.account_id).update(needs_reconnect=True)
        elif handling is OnFailure.WAIT_FOR_CREDENTIALS:
            Project.objects.filter(pk=task.project_id).update(needs_credentials=True)
        queue.task_transition(
            task,
            expect_status=Status.LOCKED,
            last_error=f"{kind}: {error.message}"[:2000],
            maybe_posted=maybe_posted,
            **changes,
            **queue.TASK_LEASE.released(),
        )
        log_attempt(task, status=log_status, duration=duration, kind=kind, message=error.message)
    # Alerts once per incident (publishing.alerts), written after the commit so they never hold it up.
    if handling is OnFailure.WAIT_FOR_CREDENTIALS and task.account_id:
        alerts.account_rejected(task)
    elif handling is OnFailure.WAIT_FOR_CREDENTIALS:
        alerts.credentials_rejected(task.project_id)
    elif outcome is Outcome.FAILED and not skipped:
        alerts.task_failed_for_good(task)
    return outcome


def apply_hold(task: PublishingTask, *, reason: str) -> bool:
    """Hold a claimed task for its owner instead of posting it (``publishing.holds``)."""
    with transaction.atomic():
        moved = queue.task_transition(
            task,
            expect_status=Status.LOCKED,
            status=Status.HELD,
            last_error=reason[:2000],
            **queue.TASK_LEASE.released(),
        )
        if moved:
            log_attempt(task, status=PublishingLog.Status.SKIPPED, duration=0.0, message=reason)
    return moved


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
