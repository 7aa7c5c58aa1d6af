"""The analytics schedule (installed by ``manage.py setup_schedules``): hourly aggregation always runs."""

from django_q.models import Schedule

from cradle_site.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(name="analytics.aggregate", func="analytics.tasks.aggregate_hourly", schedule_type=Schedule.HOURLY)
]
