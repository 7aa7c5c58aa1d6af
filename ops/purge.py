"""Delete old log rows in short batches (``purge_logs``).

Only logs go: publishing attempts, message status changes and django-q2's task history.
Tasks and messages are the business records and are never touched here.

Each batch selects up to ``batch_size`` primary keys older than the cut-off, in key order,
and deletes exactly those keys in its own transaction. A batch therefore locks a few
thousand rows for a few milliseconds, so the site and the workers keep writing while a
purge of millions of rows runs; a purge stopped half-way leaves a consistent table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.db import transaction
from django.utils import timezone

# table name on the command line -> (app_label.Model, the time column that ages the row)
TABLES: dict[str, tuple[str, str]] = {
    "logs": ("publishing.PublishingLog", "published_at"),
    "status_logs": ("messaging.StatusLog", "created_at"),
    "q_tasks": ("django_q.Task", "stopped"),
}
# Beyond these the cut-off date or the LIMIT would overflow; nothing is kept that long anyway.
MAX_DAYS = 36500
MAX_BATCH_SIZE = 1_000_000


@dataclass
class PurgeResult:
    table: str
    cutoff: datetime
    rows: int = 0
    batches: int = 0
    max_batch_s: float = 0.0
    dry_run: bool = False
    batch_seconds: list[float] = field(default_factory=list, repr=False)


def purge_cutoff(*, days: int, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def logs_purge(
    *,
    table: str,
    days: int,
    batch_size: int = 5000,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[PurgeResult], None] | None = None,
) -> PurgeResult:
    """Delete rows of ``table`` (a key of TABLES) older than ``days`` days; return the tally."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH_SIZE}")
    model_path, column = TABLES[table]
    model = apps.get_model(model_path)
    result = PurgeResult(table=table, cutoff=purge_cutoff(days=days, now=now), dry_run=dry_run)
    old = model._base_manager.filter(**{f"{column}__lt": result.cutoff})
    if dry_run:
        result.rows = old.count()
        return result
    last_pk = None
    while True:
        started = time.perf_counter()
        batch = old if last_pk is None else old.filter(pk__gt=last_pk)
        # Walking the key upward means each batch starts where the last one stopped
        # instead of re-scanning rows a concurrent writer keeps young.
        with transaction.atomic():
            pks = list(batch.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not pks:
                break
            # One range DELETE over the clustered key, no collector fetching the rows first
            # (logs have no dependents and no delete signals to honour). The range holds
            # exactly the selected rows: they are the first old rows in key order, and
            # rows written meanwhile get higher keys.
            old.filter(pk__gte=pks[0], pk__lte=pks[-1])._raw_delete(model._base_manager.db)
        elapsed = time.perf_counter() - started
        last_pk = pks[-1]
        result.rows += len(pks)
        result.batches += 1
        result.max_batch_s = max(result.max_batch_s, elapsed)
        if progress:
            progress(result)
    return result
