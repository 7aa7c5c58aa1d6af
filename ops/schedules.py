"""The operations schedules (installed by ``manage.py setup_schedules``).

The daily backup (plus the hourly one on SQLite, the binlog archive every few minutes on
MariaDB, the weekly restore drill) and the monthly purge-then-vacuum can be switched off with
BACKUP_ENABLED / PURGE_ENABLED (e.g. where the host backs up itself).
"""

from django.conf import settings
from django_q.models import Schedule

from cradle_site.schedules import ScheduleSpec

SCHEDULES = []
if settings.BACKUP_ENABLED:
    SCHEDULES.append(
        ScheduleSpec(name="ops.backup", func="ops.tasks.backup_daily", schedule_type=Schedule.DAILY, at_hour_utc=3)
    )
    SCHEDULES.append(
        ScheduleSpec(
            name="ops.restore_drill", func="ops.tasks.restore_drill", schedule_type=Schedule.WEEKLY, at_hour_utc=5
        )
    )
    if settings.DATABASE_IS_SQLITE and settings.BACKUP_HOURLY_SQLITE:
        SCHEDULES.append(
            ScheduleSpec(name="ops.backup_hourly", func="ops.tasks.backup_hourly", schedule_type=Schedule.HOURLY)
        )
    if not settings.DATABASE_IS_SQLITE:
        SCHEDULES.append(
            ScheduleSpec(
                name="ops.binlog_archive",
                func="ops.tasks.binlog_archive",
                schedule_type=Schedule.MINUTES,
                minutes=settings.BINLOG_ARCHIVE_MINUTES,
            )
        )
if settings.PURGE_ENABLED:
    SCHEDULES.append(
        ScheduleSpec(name="ops.purge", func="ops.tasks.purge_and_vacuum", schedule_type=Schedule.MONTHLY, at_hour_utc=4)
    )
