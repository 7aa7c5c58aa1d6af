"""Tasks per project and status (``ProjectTaskCount``), kept in the transaction of every change.

The projects page and a project's page show how many tasks are pending, published and
failed. Counting them read every task's index entry (100,000 at the benchmark's scale, the
one page that grew with rows); these rows make it one small read per shown project.

They are kept by the task model layer itself, so no caller can forget them: every ORM
path that writes a status or a project goes through ``PublishingTaskQuerySet`` (``update``,
``bulk_create``, ``delete``) or ``PublishingTask.save`` / ``delete``, which lock the rows
they change, read their old (project, status), write, and apply the difference here before
their transaction commits. Not database triggers: MariaDB with binary logging needs SUPER
to create them. Deleting a project deletes its counts (CASCADE).

Deltas are applied in (project, status) order, so two transactions never wait on each
other's count rows in opposite orders within one change. ``recount`` rebuilds the rows of
some projects from the tasks (the migration, and a bulk insert that skipped conflicts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Count, F

Deltas = Counter  # {(project_id, status): change}


def apply(deltas: Deltas) -> None:
    """Add ``deltas`` to the count rows (call inside the change's transaction)."""
    from publishing.models import ProjectTaskCount

    for (project_id, status), change in sorted(deltas.items()):
        if not change:
            continue
        rows = ProjectTaskCount.objects.filter(project_id=project_id, status=status)
        if rows.update(tasks=F("tasks") + change):
            continue
        try:
            with transaction.atomic():
                ProjectTaskCount.objects.create(project_id=project_id, status=status, tasks=change)
        except IntegrityError:  # another transaction created it first
            rows.update(tasks=F("tasks") + change)


def moved(before: Iterable[tuple[int, str]], after: Iterable[tuple[int, str]]) -> Deltas:
    """The deltas of tasks that were ``before`` (project, status) pairs and are now ``after``."""
    deltas: Deltas = Counter()
    for key in before:
        deltas[key] -= 1
    for key in after:
        deltas[key] += 1
    return deltas


def recount(project_ids: Iterable[int]) -> None:
    """Rewrite the count rows of ``project_ids`` from their tasks."""
    from publishing.models import ProjectTaskCount, PublishingTask

    ids = sorted(set(project_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        with transaction.atomic():
            rows = (
                PublishingTask._base_manager.filter(project_id__in=chunk)
                .order_by()
                .values_list("project_id", "status")
                .annotate(n=Count("id"))
            )
            fresh = [ProjectTaskCount(project_id=p, status=s, tasks=n) for p, s, n in rows]
            ProjectTaskCount.objects.filter(project_id__in=chunk).delete()
            ProjectTaskCount.objects.bulk_create(fresh)


def counts_of(project_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """{project id: {status: tasks}} for the shown projects: one read of their count rows."""
    from publishing.models import ProjectTaskCount

    counts: dict[int, dict[str, int]] = {}
    rows = ProjectTaskCount.objects.filter(project_id__in=list(project_ids), tasks__gt=0)
    for project_id, status, tasks in rows.values_list("project_id", "status", "tasks"):
        counts.setdefault(project_id, {})[status] = tasks
    return counts
