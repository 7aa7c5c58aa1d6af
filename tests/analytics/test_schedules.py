from django.core.management import call_command
from django_q.models import Schedule

from analytics.tasks import aggregate_hourly, purge_and_vacuum


def test_setup_schedules_installs_ours_once(db):
    call_command("setup_schedules")
    call_command("setup_schedules")
    ours = dict(Schedule.objects.filter(name__startswith="cradle.analytics.").values_list("name", "schedule_type"))
    assert ours == {
        "cradle.analytics.aggregate": Schedule.HOURLY,
        "cradle.analytics.backup": Schedule.DAILY,
        "cradle.analytics.purge": Schedule.MONTHLY,
    }
    assert Schedule.objects.get(name="cradle.analytics.purge").func == "analytics.tasks.purge_and_vacuum"


def test_the_tasks_run(transactional_db):
    assert "hourly rows" in aggregate_hourly()
    assert purge_and_vacuum().endswith("vacuumed")
