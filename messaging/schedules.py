from django_q.models import Schedule

from cradle_site.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(name="messaging.sweep", func="messaging.tasks.sweep", schedule_type=Schedule.MINUTES, minutes=1),
    ScheduleSpec(name="messaging.deliver", func="messaging.tasks.deliver", schedule_type=Schedule.MINUTES, minutes=1),
]
