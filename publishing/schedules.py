from django_q.models import Schedule

from cradle_site.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(name="publishing.publish", func="publishing.tasks.publish", schedule_type=Schedule.MINUTES, minutes=1),
    ScheduleSpec(
        name="publishing.scan",
        func="publishing.tasks.scan",
        schedule_type=Schedule.MINUTES,
        # Every minute: each source is due PUBLISHING_SCAN_MINUTES after its last scan
        # (publishing.scan_runs), and a run takes the due ones one at a time.
        minutes=1,
    ),
    # Evergreen posts due again get a copy queued (publishing.evergreen).
    ScheduleSpec(name="publishing.evergreen", func="publishing.tasks.evergreen", schedule_type=Schedule.HOURLY),
    # Alerts (publishing.alerts): the due ones are sent each minute; the queues are checked hourly
    # (a queue that runs dry within PUBLISHING_ALERT_DRY_HOURS is not news to the minute).
    ScheduleSpec(
        name="publishing.alerts", func="publishing.tasks.alerts_send", schedule_type=Schedule.MINUTES, minutes=1
    ),
    ScheduleSpec(
        name="publishing.queues_check", func="publishing.tasks.queues_check", schedule_type=Schedule.MINUTES, minutes=60
    ),
]
