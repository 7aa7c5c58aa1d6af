"""The task queue: claim due tasks, take back expired leases, and change state safely.

Why it is safe to run on several workers at once:

- A claim reads due pending tasks in priority order with ``SELECT … FOR UPDATE SKIP
  LOCKED`` (MySQL/MariaDB): two workers never read the same row, and neither waits on
  the other. The same transaction then marks them ``locked`` with one UPDATE that also
  requires ``status = 'pending'``. SQLite has no row locks; there the whole transaction
  holds the database's write lock (``transaction_mode=IMMEDIATE``), and the conditional
  UPDATE is the guard.
- Every later state change is an ``UPDATE … WHERE id = ? AND version = ?`` that bumps
  ``version``; zero rows changed means somebody else moved the task (the lease ran out
  and another worker took it), and this worker leaves it alone.
- A worker that dies keeps its tasks only until ``lease_expires_at``; ``tasks_reclaim``
  puts them back to pending, flagged ``maybe_posted`` because the dead worker may have
  reached X before it died.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from publishing.models import Project, PublishingTask

Status = PublishingTask.Status


def new_worker_id() -> str:
    return uuid.uuid4().hex[:16]


def tasks_reclaim(*, now: datetime | None = None) -> int:
    """Put tasks whose lease ran out back in the queue; return how many."""
    now = now or timezone.now()
    return PublishingTask.objects.filter(status=Status.LOCKED, lease_expires_at__lt=now).update(
        status=Status.PENDING,
        locked_by="",
        locked_at=None,
        lease_expires_at=None,
        maybe_posted=True,
        version=F("version") + 1,
        updated_at=now,
    )


def project_ids_by_mode() -> tuple[list[int], list[int]]:
    """(held, live): projects whose queue is paused, and active projects with X credentials.

    Plain reads, apart from the claim: joining projects into the locking SELECT would lock
    project rows too (MariaDB has no FOR UPDATE OF), and every worker would queue on them.
    """
    held, live = [], []
    rows = Project.objects.filter(Q(paused=True) | Q(needs_credentials=True) | ~Q(x_access_token="")).values_list(
        "id", "paused", "needs_credentials"
    )
    for project_id, paused, needs_credentials in rows:
        (held if paused or needs_credentials else live).append(project_id)
    return held, live


def task_claim_due(
    *,
    worker_id: str,
    limit: int,
    now: datetime | None = None,
    exclude_projects: list[int] | None = None,
    only_projects: list[int] | None = None,
) -> list[PublishingTask]:
    """Claim up to ``limit`` due tasks, highest priority first; they come back ``locked``.

    Without project filters, projects whose queue is paused are left out.
    """
    now = now or timezone.now()
    if exclude_projects is None and only_projects is None:
        exclude_projects, _live = project_ids_by_mode()
    lease_until = now + timedelta(seconds=settings.PUBLISHING_LEASE_SECONDS)
    with transaction.atomic():
        due = PublishingTask.objects.filter(status=Status.PENDING, scheduled_at__lte=now)
        if only_projects is not None:
            due = due.filter(project_id__in=only_projects)
        if exclude_projects:
            due = due.exclude(project_id__in=exclude_projects)
        tasks = list(due.order_by("-priority", "scheduled_at", "id").select_for_update(skip_locked=True)[:limit])
        if not tasks:
            return []
        ids = [task.pk for task in tasks]
        claimed = PublishingTask.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.LOCKED,
            locked_by=worker_id,
            locked_at=now,
            lease_expires_at=lease_until,
            version=F("version") + 1,
            updated_at=now,
        )
        if claimed != len(ids):  # cannot happen under the locks above; be correct anyway
            mine = set(
                PublishingTask.objects.filter(pk__in=ids, locked_by=worker_id, locked_at=now).values_list(
                    "pk", flat=True
                )
            )
            tasks = [task for task in tasks if task.pk in mine]
    for task in tasks:
        task.status = Status.LOCKED
        task.locked_by = worker_id
        task.locked_at = now
        task.lease_expires_at = lease_until
        task.version += 1
    return tasks


def task_transition(task: PublishingTask, *, expect_status: str | None = None, **changes) -> bool:
    """Apply ``changes`` if the task is still at ``task.version``; bump the version.

    Returns False (and changes nothing) when another worker or a user moved it first.
    """
    now = timezone.now()
    filters = {"pk": task.pk, "version": task.version}
    if expect_status:
        filters["status"] = expect_status
    updated = PublishingTask.objects.filter(**filters).update(version=F("version") + 1, updated_at=now, **changes)
    if updated:
        for key, value in changes.items():
            setattr(task, key, value)
        task.version += 1
        task.updated_at = now
    return bool(updated)


def task_renew_lease(task: PublishingTask, *, now: datetime | None = None) -> bool:
    """Extend the lease of a task this worker still holds, right before posting it.

    A live batch posts one task after another, and a slow video upload can eat most of a
    lease; renewing per task keeps the later ones from being taken back while still held.
    False means the lease already ran out and the task went back to the queue (another
    worker may be posting it): leave it alone.
    """
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=settings.PUBLISHING_LEASE_SECONDS)
    return task_transition(task, expect_status=Status.LOCKED, lease_expires_at=lease_until)


class LeaseLost(Exception):
    """The task went back to the queue while this worker was still working on it."""


class LeaseKeeper:
    """Call it often during a long publish (a big download, a chunked upload, video processing).

    It renews the task's lease once a third of it has passed, so the lease never runs out
    while the work goes on, and raises ``LeaseLost`` when the task is no longer this
    worker's, so nothing is posted for a task another worker may be posting.
    """

    def __init__(self, task: PublishingTask) -> None:
        self.task = task
        self.renewed_at = timezone.now()

    def __call__(self) -> None:
        now = timezone.now()
        if (now - self.renewed_at).total_seconds() < settings.PUBLISHING_LEASE_SECONDS / 3:
            return
        if not task_renew_lease(self.task, now=now):
            raise LeaseLost(f"task {self.task.pk} was taken back after its lease ran out")
        self.renewed_at = now


class _ShortUpdate(Exception):
    pass


def tasks_transition_many(tasks: list[PublishingTask], *, expect_status: str, **changes) -> set[int]:
    """``task_transition`` for a batch, set-based: one UPDATE per distinct version.

    Returns the ids that changed. A claimed batch nearly always shares one version, so
    this is one query; when a group comes back short, the group falls back to one
    conditional UPDATE per task to learn exactly which ones moved.
    """
    now = timezone.now()
    by_version: dict[int, list[PublishingTask]] = defaultdict(list)
    for task in tasks:
        by_version[task.version].append(task)
    done: set[int] = set()
    for version, group in by_version.items():
        ids = [task.pk for task in group]
        try:
            with transaction.atomic():
                updated = PublishingTask.objects.filter(pk__in=ids, version=version, status=expect_status).update(
                    version=F("version") + 1, updated_at=now, **changes
                )
                if updated != len(ids):
                    raise _ShortUpdate  # undo, then learn row by row which ones are still ours
            done.update(ids)
        except _ShortUpdate:
            for task in group:
                if PublishingTask.objects.filter(pk=task.pk, version=version, status=expect_status).update(
                    version=F("version") + 1, updated_at=now, **changes
                ):
                    done.add(task.pk)
    for task in tasks:
        if task.pk in done:
            for key, value in changes.items():
                setattr(task, key, value)
            task.version += 1
    return done


def release_fields() -> dict:
    """The columns that end a claim."""
    return {"locked_by": "", "locked_at": None, "lease_expires_at": None}
