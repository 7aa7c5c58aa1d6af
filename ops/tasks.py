"""django-q2 entry points: thin wrappers the schedules in ``ops/schedules.py`` call."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import connection

from ops import binlog
from ops import drill as drill_module
from ops.backup import backup_create
from ops.purge import TABLES, logs_purge
from ops.sealed import BackupError
from ops.vacuum import db_vacuum


def backup_daily() -> str:
    # backup_create refuses an empty database (a wrong DATABASE_URL): the task fails and the admin shows it.
    return str(backup_create(progress=lambda line: None))


def backup_hourly() -> str:
    """SQLite only (it has no binary log): an online backup every hour, kept apart so the
    dailies are not pushed out; off-site too, where the GFS rule keeps the newest of a day."""
    if connection.vendor != "sqlite":
        return "not SQLite: the binlog archive is the recovery point between daily backups"
    return str(backup_create(directory=Path(settings.BACKUP_DIR) / "hourly", keep=24, progress=lambda line: None))


def binlog_archive() -> str:
    if connection.vendor != "mysql" or not binlog.log_bin_enabled():
        return "no binary log on this database"
    return f"archived {len(binlog.binlog_archive(progress=lambda line: None))} binlog file(s)"


def restore_drill() -> str:
    drill = drill_module.restore_drill(progress=lambda line: None)
    if not drill.ok:
        # A failed task shows in the admin; the drill row and /healthz?strict=1 say it too.
        raise BackupError(f"restore drill failed: {drill.detail}")
    return drill.detail


def purge_and_vacuum() -> str:
    """Monthly: purge every log table, then vacuum, in that order, in one task."""
    parts = []
    for table in TABLES:
        result = logs_purge(table=table, days=settings.PURGE_LOGS_DAYS, batch_size=settings.PURGE_BATCH_SIZE)
        parts.append(f"{table}: {result.rows}")
    db_vacuum(progress=lambda line: None)
    return "purged " + ", ".join(parts) + "; vacuumed"
