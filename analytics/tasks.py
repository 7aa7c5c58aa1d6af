"""django-q2 entry points: thin wrappers the schedules in ``analytics/schedules.py`` call."""

from __future__ import annotations

from django.conf import settings

from analytics.aggregate import aggregate_recent
from analytics.ops.backup import BackupError, backup_create, database_is_empty
from analytics.ops.purge import TABLES, logs_purge
from analytics.ops.vacuum import db_vacuum


def aggregate_hourly() -> str:
    result = aggregate_recent()
    return f"{result.log_rows} log rows -> {result.publishing_rows + result.message_rows} hourly rows"


def backup_daily() -> str:
    # An empty database here means a wrong DATABASE_URL, not a new site: a backup of it
    # would push a real one out of the kept set. The task fails and the admin shows it.
    if database_is_empty():
        raise BackupError("the database is empty; no backup taken and none rotated out (check DATABASE_URL)")
    return str(backup_create(progress=lambda line: None))


def purge_and_vacuum() -> str:
    """Monthly: purge every log table, then vacuum, in that order, in one task."""
    parts = []
    for table in TABLES:
        result = logs_purge(table=table, days=settings.PURGE_LOGS_DAYS, batch_size=settings.PURGE_BATCH_SIZE)
        parts.append(f"{table}: {result.rows}")
    db_vacuum(progress=lambda line: None)
    return "purged " + ", ".join(parts) + "; vacuumed"
