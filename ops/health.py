"""What ``/healthz?strict=1`` reports about backups: the newest backup, binlog archive and
restore drill, each with its age, and the problems a person must look at (one line each)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from ops import binlog, offsite
from ops.backup import backup_list
from ops.models import RestoreDrill


def backups_report(now: datetime) -> dict:
    """Empty when the checks are off (BACKUP_ENABLED or BACKUP_HEALTH_CHECKS false)."""
    if not (settings.BACKUP_ENABLED and settings.BACKUP_HEALTH_CHECKS):
        return {}
    problems = []
    backups = backup_list() if settings.BACKUP_DIR.is_dir() else []
    newest = offsite.stamp_of(backups[-1].name) if backups else None
    if newest is None:
        problems.append("no backup in BACKUP_DIR")
    elif now - newest > timedelta(hours=settings.BACKUP_MAX_AGE_HOURS):
        problems.append(f"the newest backup is older than {settings.BACKUP_MAX_AGE_HOURS} hours")
    report = {"newest_backup": newest.isoformat() if newest else None}

    if connection.vendor == "mysql" and binlog.log_bin_enabled():
        archives = list(binlog.archived().values()) if settings.BINLOG_DIR.is_dir() else []
        newest_binlog = offsite.stamp_of(archives[-1].name) if archives else None
        report["newest_binlog_archive"] = newest_binlog.isoformat() if newest_binlog else None
        if newest_binlog is None:
            problems.append("no binlog archive in BINLOG_DIR")
        elif now - newest_binlog > timedelta(minutes=settings.BINLOG_MAX_AGE_MINUTES):
            problems.append(f"the newest binlog archive is older than {settings.BINLOG_MAX_AGE_MINUTES} minutes")

    drill = RestoreDrill.objects.order_by("-started_at").first()
    report["last_drill"] = (
        {"at": drill.started_at.isoformat(), "ok": drill.ok, "detail": drill.detail} if drill else None
    )
    if drill is None:
        problems.append("no restore drill yet (manage.py backup_verify)")
    elif not drill.ok:
        problems.append(f"the last restore drill failed: {drill.detail}")
    elif now - drill.started_at > timedelta(days=settings.RESTORE_DRILL_MAX_AGE_DAYS):
        problems.append(f"the last restore drill is older than {settings.RESTORE_DRILL_MAX_AGE_DAYS} days")
    report["problems"] = problems
    return report
