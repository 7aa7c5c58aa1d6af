from django.conf import settings
from django_q.models import Schedule

from cradle_site.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(name="publishing.publish", func="publishing.tasks.publish", schedule_type=Schedule.MINUTES, minutes=1),
    ScheduleSpec(
        name="publishing.scan",
        func="publishing.tasks.scan",
        schedule_type=Schedule.MINUTES,
        minutes=settings.PUBLISHING_SCAN_MINUTES,
    ),
]
