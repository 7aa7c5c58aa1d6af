"""The backup and purge schedules live in ops, and an install made before the move is repaired."""

import io

from django.core.management import call_command
from django.db import connection
from django.utils.module_loading import import_string
from django_q.models import Schedule

from ops.tasks import purge_and_vacuum


def test_setup_schedules_installs_ours_once(db):
    call_command("setup_schedules")
    call_command("setup_schedules")
    ours = dict(Schedule.objects.filter(name__startswith="cradle.ops.").values_list("name", "schedule_type"))
    expected = {
        "cradle.ops.backup": Schedule.DAILY,
        "cradle.ops.purge": Schedule.MONTHLY,
        "cradle.ops.restore_drill": Schedule.WEEKLY,
    }
    if connection.vendor == "sqlite":
        expected["cradle.ops.backup_hourly"] = Schedule.HOURLY
    else:
        expected["cradle.ops.binlog_archive"] = Schedule.MINUTES
    assert ours == expected
    assert Schedule.objects.get(name="cradle.ops.backup").func == "ops.tasks.backup_daily"
    assert Schedule.objects.get(name="cradle.ops.purge").func == "ops.tasks.purge_and_vacuum"


def test_an_install_from_before_the_move_calls_no_missing_function(db):
    # What setup_schedules wrote when backups and purges lived in analytics.
    Schedule.objects.create(name="cradle.analytics.backup", func="analytics.tasks.backup_daily", schedule_type="D")
    Schedule.objects.create(name="cradle.analytics.purge", func="analytics.tasks.purge_and_vacuum", schedule_type="M")
    err = io.StringIO()
    call_command("setup_schedules", stdout=io.StringIO(), stderr=err)
    funcs = dict(Schedule.objects.values_list("name", "func"))
    assert "cradle.analytics.backup" not in funcs and "cradle.analytics.purge" not in funcs
    assert funcs["cradle.ops.backup"] == "ops.tasks.backup_daily"
    assert funcs["cradle.ops.purge"] == "ops.tasks.purge_and_vacuum"
    for func in funcs.values():
        assert callable(import_string(func)), func
    assert err.getvalue() == ""


def test_a_moved_function_is_repaired_under_the_same_name(db):
    call_command("setup_schedules", stdout=io.StringIO())
    Schedule.objects.filter(name="cradle.ops.backup").update(func="analytics.tasks.backup_daily")
    call_command("setup_schedules", stdout=io.StringIO())
    assert Schedule.objects.get(name="cradle.ops.backup").func == "ops.tasks.backup_daily"


def test_an_operators_schedule_of_a_moved_function_is_reported_not_deleted(db):
    Schedule.objects.create(name="nightly copy", func="analytics.tasks.backup_daily", schedule_type="D")
    err = io.StringIO()
    call_command("setup_schedules", stdout=io.StringIO(), stderr=err)
    assert Schedule.objects.filter(name="nightly copy").exists()
    assert "'nightly copy' calls analytics.tasks.backup_daily, which does not exist any more" in err.getvalue()


def test_the_purge_task_runs(transactional_db):
    assert purge_and_vacuum().endswith("vacuumed")
