"""The publish job: take back dead workers' tasks, claim due ones, publish, record.

Dry-run tasks (projects without X credentials) are finished set-based: per claimed batch,
one duplicate lookup, one UPDATE per outcome and one bulk insert of logs. Live tasks wait
on X one at a time, so at most ``PUBLISHING_LIVE_BATCH_SIZE`` of them stay claimed; the
rest go straight back to the queue. A live task that may already be on X, of a kind X
cannot refuse a copy of, is held for its owner instead of posted (``publishing.holds``).

The network accounts' copies (Mastodon, Bluesky: ``PublishingTask.account``) are claimed
by a third claim of their own, live-sized, and posted per account: a rate limit or a
rejected token holds that account's batch only, never the project's X or another account.
With ``PUBLISHING_NETWORK_DRY_RUN`` (staging, the benchmark) that claim is batch-sized and its
copies are finished by the dry run, exactly as X's dry-run tasks.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from publishing import queue
from publishing.duplicates import duplicate_reasons
from publishing.failures import ON_FAILURE, Outcome
from publishing.holds import HELD_REASON, needs_hold, thread_gap_reason
from publishing.models import NetworkAccount, Project, PublishingLog, PublishingTask
from publishing.outcomes import apply_failure, apply_hold, apply_success, release_tasks
from publishing.publishers import DryRunPublisher, PublishError, ThreadGap, TweepyPublisher, publisher_for
from publishing.threads import dry_run_replies_record

log = logging.getLogger(__name__)
Status = PublishingTask.Status
ErrorKind = PublishingLog.ErrorKind


@dataclass
class RunStats:
    claimed: int = 0
    published: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    released: int = 0
    held: int = 0
    reclaimed: int = 0
    lost: int = 0
    thread_posts: int = 0  # replies posted (the first post of a thread counts as published)
    batches: int = 0
    by_kind: dict = field(default_factory=dict)


def _duration(task: PublishingTask, now) -> float:
    return max((now - task.locked_at).total_seconds(), 0.0) if task.locked_at else 0.0


def _finish_dry_batch(tasks: list[PublishingTask], projects: dict[int, Project], stats: RunStats) -> None:
    publisher = DryRunPublisher()
    reasons = duplicate_reasons(tasks, projects)
    now = timezone.now()
    to_publish = [task for task in tasks if task.pk not in reasons]
    to_skip = [task for task in tasks if task.pk in reasons]
    with transaction.atomic():
        done = queue.tasks_transition_many(
            to_publish,
            expect_status=Status.LOCKED,
            status=Status.SUCCESS,
            published_at=now,
            last_error="",
            **queue.TASK_LEASE.released(),
        )
        skipped = queue.tasks_transition_many(
            to_skip,
            expect_status=Status.LOCKED,
            status=Status.CANCELLED,
            last_error="Skipped: a duplicate of a recent post",
            **queue.TASK_LEASE.released(),
        )
        logs = []
        for task in to_publish:
            if task.pk in done:
                result = publisher.publish(task)
                logs.append(
                    PublishingLog(
                        task_id=task.pk,
                        project_id=task.project_id,
                        tweet_id=result.tweet_id,
                        tweet_content=result.text,
                        published_at=now,
                        status=PublishingLog.Status.SUCCESS,
                        duration_seconds=_duration(task, now),
                        dry_run=True,
                    )
                )
        for task in to_skip:
            if task.pk in skipped:
                logs.append(
                    PublishingLog(
                        task_id=task.pk,
                        project_id=task.project_id,
                        tweet_content=task.text,
                        published_at=now,
                        status=PublishingLog.Status.SKIPPED,
                        error_kind=PublishingLog.ErrorKind.DUPLICATE,
                        error_message=reasons[task.pk],
                        duration_seconds=_duration(task, now),
                        dry_run=True,
                    )
                )
        PublishingLog.objects.bulk_create(logs, batch_size=1000)
        threads = [task.pk for task in to_publish if task.reply_count and task.pk in done]
        stats.thread_posts += dry_run_replies_record(threads, now=now)
    stats.published += len(done)
    stats.skipped += len(skipped)


def _publish_live(tasks: list[PublishingTask], project: Project, publisher, stats: RunStats, deadline: float) -> None:
    for index, task in enumerate(tasks):
        rest = tasks[index + 1 :]
        if time.monotonic() > deadline:
            stats.released += release_tasks(tasks[index:])
            return
        if not queue.task_renew_lease(task):
            stats.lost += 1  # taken back after its lease ran out: no longer ours to post
            continue
        reasons = duplicate_reasons([task], {project.pk: project})
        if reasons:
            apply_failure(task, PublishError(ErrorKind.DUPLICATE, reasons[task.pk]), duration=0.0, skipped=True)
            stats.skipped += 1
            continue
        if needs_hold(task):
            stats.held += apply_hold(task, reason=HELD_REASON)
            continue
        started = time.perf_counter()
        try:
            result = publisher.publish(task, keep_alive=queue.LeaseKeeper(task))
        except queue.LeaseLost:
            stats.lost += 1  # taken back mid-publish (nothing was posted): another worker has it
            continue
        except ThreadGap as gap:
            stats.held += apply_hold(task, reason=thread_gap_reason(gap.position))
            continue
        except PublishError as error:
            duration = time.perf_counter() - started
            outcome = apply_failure(task, error, duration=duration)
            stats.by_kind[error.kind] = stats.by_kind.get(error.kind, 0) + 1
            if outcome is Outcome.FAILED:
                stats.failed += 1
            elif outcome is Outcome.RETRY:
                stats.retried += 1
            if ON_FAILURE[error.kind].holds_account:
                # The whole account is limited or locked out: the rest of its batch waits.
                stats.released += release_tasks(rest, scheduled_at=error.retry_at)
                return
            continue
        apply_success(task, result, duration=time.perf_counter() - started)
        stats.published += 1
        stats.thread_posts += task.reply_count


def publish_due(
    *,
    worker_id: str | None = None,
    batch_size: int | None = None,
    live_batch_size: int | None = None,
    run_seconds: float | None = None,
    max_batches: int | None = None,
) -> RunStats:
    """Publish due tasks until none are due or the time budget is spent."""
    worker_id = worker_id or queue.new_worker_id()
    batch_size = batch_size or settings.PUBLISHING_BATCH_SIZE
    live_batch_size = live_batch_size or settings.PUBLISHING_LIVE_BATCH_SIZE
    deadline = time.monotonic() + (run_seconds or settings.PUBLISHING_RUN_SECONDS)
    stats = RunStats()
    publishers: dict[int, TweepyPublisher] = {}
    account_publishers: dict[int, object] = {}
    while time.monotonic() < deadline and (max_batches is None or stats.batches < max_batches):
        held, live_ids = queue.project_ids_by_mode()
        # Two claims: dry-run tasks in big batches, live ones (each waits on X) in small ones,
        # so a worker never holds more live tasks than it can post within the lease.
        dry_claim = queue.task_claim_due(worker_id=worker_id, limit=batch_size, exclude_projects=held + live_ids)
        dry, live = dry_claim.tasks, []
        stats.reclaimed += dry_claim.taken_back
        if live_ids:
            live_claim = queue.task_claim_due(worker_id=worker_id, limit=live_batch_size, only_projects=live_ids)
            live = live_claim.tasks
            stats.reclaimed += live_claim.taken_back
        copies = []
        account_ids = queue.account_ids_live()
        copies_dry = settings.PUBLISHING_NETWORK_DRY_RUN
        if account_ids:
            copy_claim = queue.task_claim_due(
                worker_id=worker_id, limit=batch_size if copies_dry else live_batch_size, only_accounts=account_ids
            )
            copies = copy_claim.tasks
            stats.reclaimed += copy_claim.taken_back
        if not dry and not live and not copies:
            break
        stats.batches += 1
        stats.claimed += len(dry) + len(live) + len(copies)
        projects = Project.objects.in_bulk({task.project_id for task in dry + live + copies})
        if dry:
            _finish_dry_batch(dry, projects, stats)
        by_project: dict[int, list[PublishingTask]] = {}
        for task in live:
            by_project.setdefault(task.project_id, []).append(task)
        for project_id, project_tasks in by_project.items():
            project = projects[project_id]
            if not project.has_credentials:  # removed meanwhile: not this batch's business
                stats.released += release_tasks(project_tasks)
                continue
            if project_id not in publishers:
                publishers[project_id] = publisher_for(project)
            _publish_live(project_tasks, project, publishers[project_id], stats, deadline)
        if copies and copies_dry:
            _finish_dry_batch(copies, projects, stats)
        elif copies:
            _publish_copies(copies, projects, account_publishers, stats, deadline)
    return stats


def _publish_copies(
    copies: list[PublishingTask], projects: dict[int, Project], publishers: dict, stats: RunStats, deadline: float
) -> None:
    """The network accounts' copies, one account at a time (its own publisher and hold)."""
    from publishing.network_publishers import publisher_for_account

    by_account: dict[int, list[PublishingTask]] = {}
    for task in copies:
        by_account.setdefault(task.account_id, []).append(task)
    accounts = NetworkAccount.objects.in_bulk(list(by_account)) if by_account else {}
    for account_id, account_tasks in by_account.items():
        account = accounts.get(account_id)
        if account is None or account.needs_reconnect:  # disconnected meanwhile
            stats.released += release_tasks(account_tasks)
            continue
        if account_id not in publishers:
            publishers[account_id] = publisher_for_account(account)
        _publish_live(account_tasks, projects[account.project_id], publishers[account_id], stats, deadline)
