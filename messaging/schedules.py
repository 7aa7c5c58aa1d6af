from django_q.models import Schedule

from cradle_site.schedules import ScheduleSpec

# Every minute, in this order within a minute when run by hand (tests, the demo): the sweep
# queues warnings and deliveries, trusted contacts' due requests queue theirs, the senders send them, and the last job alarms staff about
# deliveries refused for good or not sent in time.
SCHEDULES = [
    ScheduleSpec(name=f"messaging.{job}", func=f"messaging.tasks.{job}", schedule_type=Schedule.MINUTES, minutes=1)
    for job in ("sweep", "trusted_grants", "send_warnings", "send_deliveries", "send_named_notices", "alarm_staff")
]

# Hourly: attachments past their owner's "N days after delivery" (messaging.attachments).
SCHEDULES.append(
    ScheduleSpec(
        name="messaging.purge_attachments",
        func="messaging.tasks.purge_attachments",
        schedule_type=Schedule.HOURLY,
    )
)
