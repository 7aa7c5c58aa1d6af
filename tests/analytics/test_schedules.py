from django.core.management import call_command
from django_q.models import Schedule

from analytics.tasks import aggregate_hourly


def test_setup_schedules_installs_ours_once(db):
    call_command("setup_schedules")
    call_command("setup_schedules")
    ours = dict(Schedule.objects.filter(name__startswith="cradle.analytics.").values_list("name", "func"))
    assert ours == {"cradle.analytics.aggregate": "analytics.tasks.aggregate_hourly"}
    assert Schedule.objects.get(name="cradle.analytics.aggregate").schedule_type == Schedule.HOURLY


def test_the_task_runs(transactional_db):
    assert "hourly rows" in aggregate_hourly()
