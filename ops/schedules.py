"""The operations schedules (installed by ``manage.py setup_schedules``).

The daily backup and the monthly purge-then-vacuum can be switched off with
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
if settings.PURGE_ENABLED:
    SCHEDULES.append(
        ScheduleSpec(name="ops.purge", func="ops.tasks.purge_and_vacuum", schedule_type=Schedule.MONTHLY, at_hour_utc=4)
    )
