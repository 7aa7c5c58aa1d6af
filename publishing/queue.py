"""The task queue: claim due tasks, hold them while posting, and change state safely.

How a claim works is ``cradle_site.leases`` (the same for every job); ``TASK_LEASE`` says
which columns a task's claim uses. On top of the lease, publishing keeps a ``version``:

- Every state change is an ``UPDATE ... WHERE id = ? AND version = ?`` that bumps
  ``version``; zero rows changed means somebody else moved the task (the lease ran out and
  another worker took it, or a user cancelled it), and this worker leaves it alone.
- A worker that dies keeps its tasks only until ``lease_expires_at``; the next claim takes
  them back, flagged ``maybe_posted`` because the dead worker may have reached X before it
  died (a later "duplicate" answer from X then means the post is there).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from cradle_site import leases
from publishing.models import Project, PublishingTask

Status = PublishingTask.Status

TASK_LEASE = leases.Lease(
    model=PublishingTask,
    state_field="status",
    free=Status.PENDING,
    held=Status.LOCKED,
    due_field="scheduled_at",
    lease_field="lease_expires_at",
    seconds_setting="PUBLISHING_LEASE_SECONDS",
    order_by=("-priority", "scheduled_at", "id"),
    on_expiry=lambda now: {"maybe_posted": True, "version": F("version") + 1, "updated_at": now},
    holder_fields={"locked_by": "", "locked_at": None},
)


def new_worker_id() -> str:
    return uuid.uuid4().hex[:16]


def project_ids_by_mode() -> tuple[list[int], list[int]]:
    """(held, live): projects whose queue is paused, and active projects with X credentials.

    Plain reads, apart from the claim: joining projects into the locking SELECT would lock
    project rows too (MariaDB has no FOR UPDATE OF), and every worker would queue on them.
    """
    held, live = [], []
    live_keys = ~Q(x_access_token="") | ~Q(x_oauth_refresh_token="")
    rows = Project.objects.filter(Q(paused=True) | Q(needs_credentials=True) | live_keys).values_list(
        "id", "paused", "needs_credentials"
    )
    for project_id, paused, needs_credentials in rows:
        (held if paused or needs_credentials else live).append(project_id)
    return held, live


def account_ids_live() -> list[int]:
    """Network accounts whose copies may be claimed now (connected, project not paused)."""
    from publishing.models import NetworkAccount

    return list(NetworkAccount.objects.live().values_list("id", flat=True))


@dataclass
class TaskClaim:
    tasks: list[PublishingTask]  # highest priority first, ``locked`` by this worker
    taken_back: int  # tasks freed from a worker whose lease had run out


def task_claim_due(
    *,
    worker_id: str,
    limit: int,
    now: datetime | None = None,
    exclude_projects: list[int] | None = None,
    only_projects: list[int] | None = None,
    only_accounts: list[int] | None = None,
) -> TaskClaim:
    """Claim up to ``limit`` due tasks, highest priority first.

    Without project filters, projects whose queue is paused are left out. Without
    ``only_accounts`` only X tasks (no ``account``, every task before issue 19) are claimed;
    with it, only the copies for those network accounts (``account_ids_live``).
    """
    now = now or timezone.now()
    if only_accounts is not None:
        candidates = PublishingTask.objects.filter(account_id__in=only_accounts)
    else:
        if exclude_projects is None and only_projects is None:
            exclude_projects, _live = project_ids_by_mode()
        candidates = PublishingTask.objects.filter(account__isnull=True)
    if only_projects is not None:
        candidates = candidates.filter(project_id__in=only_projects)
    if exclude_projects:
        candidates = candidates.exclude(project_id__in=exclude_projects)
    claim = TASK_LEASE.claim(
        candidates, now=now, limit=limit, locked_by=worker_id, locked_at=now, version=F("version") + 1, updated_at=now
    )
    by_id = PublishingTask.objects.in_bulk(claim.ids) if claim.ids else {}
    return TaskClaim(tasks=[by_id[pk] for pk in claim.ids if pk in by_id], taken_back=claim.taken_back)


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
    renewed = TASK_LEASE.hold(
        task.pk,
        task.lease_expires_at,
        now=now,
        expect={"version": task.version},
        version=F("version") + 1,
        updated_at=now,
    )
    if renewed is None:
        return False
    task.lease_expires_at, task.updated_at = renewed, now
    task.version += 1
    return True


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
