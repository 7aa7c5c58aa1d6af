from django_q.models import Schedule

from cradle_site.schedules import ScheduleSpec

# Every minute, in this order within a minute when run by hand (tests, the demo): the sweep
# queues warnings and deliveries, the senders send them, and a delivery's final failure
# queues the notice the last job sends.
SCHEDULES = [
    ScheduleSpec(name=f"messaging.{job}", func=f"messaging.tasks.{job}", schedule_type=Schedule.MINUTES, minutes=1)
    for job in ("sweep", "send_warnings", "send_deliveries", "send_notices")
]
