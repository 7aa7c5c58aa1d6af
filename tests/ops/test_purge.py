"""purge_logs deletes exactly the rows older than the cut-off, in batches, and nothing else."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.models import Task

from messaging.models import Message, StatusLog
from ops.purge import logs_purge
from publishing.models import PublishingLog, PublishingTask
from tests.analytics.factories import NOW, make_message, make_project, make_tasks

CUTOFF = NOW - timedelta(days=180)
LogStatus = PublishingLog.Status


@pytest.fixture
def aged(owner):
    """Logs on both sides of the 180-day cut-off, one exactly on it (kept: 'older than')."""
    rng = random.Random(3)
    tasks = make_tasks(make_project(owner), 3)
    message = make_message(owner)
    offsets = [timedelta(days=d, seconds=rng.randrange(86400)) for d in rng.sample(range(1, 400), 120)]
    offsets += [timedelta(0), timedelta(seconds=1), timedelta(seconds=-1)]
    PublishingLog.objects.bulk_create(
        PublishingLog(
            task=rng.choice(tasks),
            project_id=tasks[0].project_id,
            published_at=CUTOFF + offset,
            status=LogStatus.SUCCESS,
        )
        for offset in offsets
    )
    StatusLog.objects.bulk_create(
        StatusLog(message=message, status=StatusLog.Status.WARNING_1, created_at=CUTOFF + offset) for offset in offsets
    )
    Task.objects.bulk_create(
        Task(id=f"t{i:04d}", name=f"t{i}", func="x", started=CUTOFF + o, stopped=CUTOFF + o, success=True)
        for i, o in enumerate(offsets)
    )
    return offsets


def _young(model, column):
    return set(model.objects.filter(**{f"{column}__gte": CUTOFF}).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "table, model, column",
    [("logs", PublishingLog, "published_at"), ("status_logs", StatusLog, "created_at"), ("q_tasks", Task, "stopped")],
)
def test_it_deletes_exactly_the_old_rows(aged, table, model, column):
    young = _young(model, column)
    old_count = model.objects.filter(**{f"{column}__lt": CUTOFF}).count()
    assert old_count and young
    result = logs_purge(table=table, days=180, batch_size=7, now=NOW)
    assert result.rows == old_count
    assert result.batches == -(-old_count // 7)
    assert set(model.objects.values_list("pk", flat=True)) == young
    # The business records stay.
    assert PublishingTask.objects.count() == 3
    assert Message.objects.count() == 1


def test_other_tables_are_left_alone(aged):
    before = (StatusLog.objects.count(), Task.objects.count())
    logs_purge(table="logs", days=180, now=NOW)
    assert (StatusLog.objects.count(), Task.objects.count()) == before


def test_dry_run_counts_and_deletes_nothing(aged):
    total = PublishingLog.objects.count()
    result = logs_purge(table="logs", days=180, dry_run=True, now=NOW)
    assert result.rows == PublishingLog.objects.filter(published_at__lt=CUTOFF).count() > 0
    assert PublishingLog.objects.count() == total


def test_command_all_tables(aged, capsys):
    with time_machine.travel(NOW, tick=False):
        call_command("purge_logs", "--days=180", "--table=all", "--batch-size=10")
    out, err = capsys.readouterr()
    assert "logs: deleted" in out and "status_logs: deleted" in out and "q_tasks: deleted" in out
    assert "batches" in err
    assert not PublishingLog.objects.filter(published_at__lt=CUTOFF).exists()
    assert not StatusLog.objects.filter(created_at__lt=CUTOFF).exists()
    assert not Task.objects.filter(stopped__lt=CUTOFF).exists()
    assert PublishingLog.objects.filter(published_at=CUTOFF).exists()


def test_command_dry_run(aged, capsys):
    with time_machine.travel(NOW, tick=False):
        call_command("purge_logs", "--days=180", "--dry-run")
    assert "would delete" in capsys.readouterr().out
    assert PublishingLog.objects.filter(published_at__lt=CUTOFF).exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--table=tasks"], "--table must be one of"),
        (["--days=0"], "--days must be at least 1"),
        (["--batch-size=0"], "--batch-size must be at least 1"),
        (["--days=-1"], "--days must be at least 1"),
        # a cut-off before year 1 was an OverflowError traceback
        (["--days=99999999999"], "--days must be at most 36500"),
        (["--days=999999", "--dry-run"], "--days must be at most 36500"),
        # a LIMIT beyond 64 bits was an OverflowError traceback
        (["--batch-size=99999999999999999999"], "--batch-size must be at most 1000000"),
    ],
)
def test_command_refuses_bad_arguments(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("purge_logs", *args)


def test_command_names_the_setting_behind_a_bad_default(db, settings):
    settings.PURGE_LOGS_DAYS = 99999999
    with pytest.raises(CommandError, match=r"got 99999999 \(from PURGE_LOGS_DAYS\)"):
        call_command("purge_logs", "--days=99999999")


def test_helper_refuses_an_overflowing_age(db):
    with pytest.raises(ValueError, match="between 1 and 36500"):
        logs_purge(table="logs", days=10**9)


@pytest.mark.slow
def test_command_exits_non_zero_with_one_line(db):
    import subprocess
    import sys

    from tests.conftest import ROOT, subprocess_env

    done = subprocess.run(
        [sys.executable, "manage.py", "purge_logs", "--table=messages"],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "CommandError: --table must be one of logs, status_logs, q_tasks, all, audit; got 'messages'"
    ]
