"""Test data for the analytics tests: projects, tasks, messages and random log rows.

Log rows are written with bulk_create (the apps' own services only ever write one row per
real attempt); the aggregation reads whatever is in the tables, however it got there.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import connection

from analytics.aggregate import NOT_CHARTED
from messaging.models import Message, StatusLog
from publishing.factories import tasks_bulk_create
from publishing.models import Project, PublishingLog, PublishingTask
from tests.clock import NOW

KINDS = list(PublishingLog.ErrorKind)
MESSAGE_STATUSES = [s for s in StatusLog.Status if s not in NOT_CHARTED]
LogStatus = PublishingLog.Status


def make_project(owner, name: str = "Project") -> Project:
    return Project.objects.create(owner=owner, name=name)


def make_tasks(project: Project, count: int = 3) -> list[PublishingTask]:
    """``count`` tasks due at the suite's NOW (the shared factory with the clock filled in)."""
    return tasks_bulk_create(project=project, count=count, scheduled_at=NOW)


def make_message(owner) -> Message:
    return Message.objects.create(
        owner=owner, next_warning_date=NOW + timedelta(days=30), revocation_key_hash=uuid.uuid4().hex
    )


def random_publishing_logs(rng: random.Random, tasks, *, start: datetime, hours: int, count: int) -> list:
    rows = []
    for _ in range(count):
        status = rng.choice([LogStatus.SUCCESS, LogStatus.SUCCESS, LogStatus.FAILED, LogStatus.SKIPPED])
        task = rng.choice(tasks)
        rows.append(
            PublishingLog(
                task=task,
                project_id=task.project_id,
                published_at=start + timedelta(seconds=rng.randrange(hours * 3600)),
                status=status,
                error_kind=rng.choice(KINDS) if status == LogStatus.FAILED else PublishingLog.ErrorKind.NONE,
                duration_seconds=round(rng.uniform(0.1, 9.0), 3),
            )
        )
    return PublishingLog.objects.bulk_create(rows, batch_size=1000)


def random_status_logs(rng: random.Random, messages, *, start: datetime, hours: int, count: int) -> list:
    rows = [
        StatusLog(
            message=rng.choice(messages),
            status=rng.choice(MESSAGE_STATUSES),
            created_at=start + timedelta(seconds=rng.randrange(hours * 3600)),
        )
        for _ in range(count)
    ]
    return StatusLog.objects.bulk_create(rows, batch_size=1000)


def expected_publishing() -> dict:
    """(hour, project_id, network) -> figures, computed in Python from every log row (the
    network: the task's account's, X for a task with none)."""
    groups: dict = defaultdict(lambda: defaultdict(int))
    durations: dict = defaultdict(list)
    for log in PublishingLog.objects.select_related("task__account"):
        hour = log.published_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        key = (hour, log.task.project_id, log.task.account.network if log.task.account else "x")
        group = groups[key]
        group[f"posts_{log.status}"] += 1
        if log.status == LogStatus.SUCCESS:
            durations[key].append(log.duration_seconds)
        if log.status == LogStatus.FAILED:
            group[f"failures_{log.error_kind or 'other'}"] += 1
    result = {}
    for key, group in groups.items():
        values = {name: group.get(name, 0) for name in _PUB_COUNTS}
        values["avg_duration"] = sum(durations[key]) / len(durations[key]) if durations[key] else None
        result[key] = values
    return result


_PUB_COUNTS = [
    "posts_success",
    "posts_failed",
    "posts_skipped",
    # By the columns' naming rule, not analytics.aggregate's map: an oracle of its own.
    *(f"failures_{kind}" for kind in PublishingLog.ErrorKind if kind != PublishingLog.ErrorKind.NONE),
]
_MSG_COLUMNS = {
    StatusLog.Status.WARNING_1: "warnings_1",
    StatusLog.Status.WARNING_2: "warnings_2",
    StatusLog.Status.WARNING_3: "warnings_3",
    StatusLog.Status.WARNING_4: "warnings_4",
    StatusLog.Status.WARNING_5: "warnings_5",
    StatusLog.Status.WARNING_RESET: "resets",
    StatusLog.Status.CONTINUED: "continues",
    StatusLog.Status.REVOKED: "revocations",
    StatusLog.Status.DELIVERED: "deliveries",
    StatusLog.Status.DELIVERY_FAILED: "delivery_failures",
}


def expected_messages() -> dict:
    groups: dict = defaultdict(lambda: dict.fromkeys(_MSG_COLUMNS.values(), 0))
    for log in StatusLog.objects.select_related("message"):
        hour = log.created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        row = groups[(hour, log.message.owner_id)]  # the hour has a row, as the aggregate makes one
        if log.status in _MSG_COLUMNS:  # a pause, say, is history no chart counts
            row[_MSG_COLUMNS[log.status]] += 1
    return dict(groups)


def table_snapshot(model, owner_field: str) -> dict:
    """The table as {(hour, owner[, network]): {column: value}} (the network where the table has one)."""
    dims = [f.name for f in model._meta.concrete_fields if f.name == "network"]
    skip = {"id", "hour_timestamp", owner_field, *dims}
    fields = [f.name for f in model._meta.concrete_fields if f.name not in skip]
    snapshot = {}
    for row in model.objects.all():
        values = {}
        for name in fields:
            value = getattr(row, name)
            values[name] = value
        key = (row.hour_timestamp.astimezone(UTC), getattr(row, f"{owner_field}_id"), *(getattr(row, d) for d in dims))
        snapshot[key] = values
    return snapshot


def assert_same(actual: dict, expected: dict) -> None:
    """Equal keys and values; floats (SQL AVG vs Python mean) within 1e-9 relative."""
    import pytest

    assert set(actual) == set(expected), sorted(set(actual) ^ set(expected))[:5]
    for key, values in expected.items():
        approx = {
            name: (pytest.approx(value, rel=1e-9) if isinstance(value, float) else value)
            for name, value in values.items()
        }
        assert actual[key] == approx, key


def table_checksums() -> dict[str, tuple[int, str]]:
    """Row count and a sha256 of the sorted rows of every table in the database."""
    import hashlib

    result = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(repr(row) for row in cursor.fetchall())
            result[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return result
