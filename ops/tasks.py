"""django-q2 entry points: thin wrappers the schedules in ``ops/schedules.py`` call."""

from __future__ import annotations

from django.conf import settings

from ops.backup import backup_create
from ops.purge import TABLES, logs_purge
from ops.vacuum import db_vacuum


def backup_daily() -> str:
    # backup_create refuses an empty database (a wrong DATABASE_URL): the task fails and the admin shows it.
    return str(backup_create(progress=lambda line: None))


def purge_and_vacuum() -> str:
    """Monthly: purge every log table, then vacuum, in that order, in one task."""
    parts = []
    for table in TABLES:
        result = logs_purge(table=table, days=settings.PURGE_LOGS_DAYS, batch_size=settings.PURGE_BATCH_SIZE)
        parts.append(f"{table}: {result.rows}")
    db_vacuum(progress=lambda line: None)
    return "purged " + ", ".join(parts) + "; vacuumed"
