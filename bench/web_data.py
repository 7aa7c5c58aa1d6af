"""The data set of issue 11 for ``bench/web.py``, built with bulk inserts and reused when present.

At ``scale`` 1.0: one heavy user with 100,000 messages (2 recipients each), 5 projects x
20,000 tasks, 1,000,000 publishing logs over the last year and a year of hourly statistics
(per project and for the messages); 1,000 other users with 2 messages, one project of 5 tasks
and 10 logs each; one staff account. Every count is multiplied by ``scale`` (0.01 = the
"1k" data set; the statistics cover ``scale`` of a year, at least a week).

Rows go in through ``bulk_create`` in batches; the encrypted columns (titles, texts) are
written once per table with one ORM ``UPDATE``, so one Fernet token is reused instead of
encrypting 200,000 values (the pages decrypt exactly as they would a token of their own).
Passwords share one hash for the same reason. The built scale is kept in the heavy user's
``last_name``; a different scale, or ``--rebuild``, empties the database (``flush``) first.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

HEAVY = "bench-web-heavy"
STAFF = "bench-web-staff"
PASSWORD = "bench-web-password"
YEAR = timedelta(days=366)
BATCH = 5000


@dataclass(frozen=True)
class DataSet:
    scale: float
    heavy_id: int
    staff_id: int
    message_id: int  # one of the heavy user's messages (detail pages)
    task_id: int
    project_id: int
    tweet_id: str  # one log's tweet id (admin search)
    other_email: str  # another user's e-mail (admin search)
    messages: int
    tasks: int
    logs: int


def _log(text: str) -> None:
    print(f"web_data: {text}", file=sys.stderr, flush=True)


def _chunks(rows: Iterable, size: int = BATCH) -> Iterator[list]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _bulk(model, rows: Iterable, size: int = BATCH) -> int:
    n = 0
    for chunk in _chunks(rows, size):
        model.objects.bulk_create(chunk)
        n += len(chunk)
    return n


def counts(scale: float) -> dict[str, int]:
    return {
        "messages": max(10, round(100_000 * scale)),
        "tasks_per_project": max(10, round(20_000 * scale)),
        "logs": max(50, round(1_000_000 * scale)),
        "hours": max(7 * 24, round(YEAR.days * 24 * scale)),
        "others": max(10, round(1_000 * scale)),
    }


def _users(n_others: int):
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    hashed = make_password(PASSWORD)
    heavy = User(username=HEAVY, email="heavy@bench.example", password=hashed, role=User.Role.EDITOR)
    heavy.save()
    staff = User(username=STAFF, email="staff@bench.example", password=hashed, is_superuser=True)
    staff.save()  # save() derives is_staff from the role
    _bulk(
        User,
        (
            User(username=f"bench-web-u{i}", email=f"u{i}@bench.example", password=hashed, role=User.Role.EDITOR)
            for i in range(n_others)
        ),
    )
    others = list(User.objects.filter(username__startswith="bench-web-u").values_list("id", flat=True))
    return heavy, staff, others


def _messages(owner_ids: list[int], per_owner: int, now: datetime) -> None:
    from messaging.models import Message, MessageBody, Recipient

    step = YEAR / per_owner

    def rows():
        for owner_id in owner_ids:
            for i in range(per_owner):
                created = now - step * i
                state = Message.State.ACTIVE
                if i % 50 == 7:
                    state = Message.State.REVOKED
                elif i % 97 == 3:
                    state = Message.State.DELIVERED
                yield Message(
                    owner_id=owner_id,
                    created_at=created,
                    cycle_started_at=created,
                    next_warning_date=created + timedelta(days=180),
                    warning_level=i % 3 if state == Message.State.ACTIVE else 0,
                    is_active=state == Message.State.ACTIVE,
                    state=state,
                    revocation_key_hash=secrets.token_hex(32),
                )

    _bulk(Message, rows())
    mine = Message.objects.filter(owner_id__in=owner_ids)
    for chunk in _chunks(mine.order_by("id").values_list("id", flat=True).iterator(chunk_size=BATCH)):
        MessageBody.objects.bulk_create([MessageBody(message_id=pk, content="") for pk in chunk])
        Recipient.objects.bulk_create(
            [
                Recipient(message_id=pk, name=f"Recipient {n}", contact=f"r{pk}-{n}@example.com")
                for pk in chunk
                for n in (1, 2)
            ]
        )
    # One token per column (see the module docstring).
    mine.update(title="A message for the people I love")
    MessageBody.objects.filter(message__owner_id__in=owner_ids).update(
        content="Words for the people I love, to be read when I no longer answer. " * 4
    )


def _tasks(projects: list, per_project: int, now: datetime) -> None:
    from publishing.content import text_hash
    from publishing.models import PublishingTask

    S = PublishingTask.Status
    cycle = [S.SUCCESS] * 7 + [S.FAILED, S.PENDING, S.CANCELLED]
    step = YEAR / per_project

    def rows():
        for project in projects:
            for i in range(per_project):
                status = cycle[i % len(cycle)]
                # Published ones in the past year, pending ones ahead.
                at = now - step * i if status != S.PENDING else now + step * i
                text = f"{project.name} post {i}"
                yield PublishingTask(
                    project=project,
                    owner_id=project.owner_id,
                    media_path=f"bench:{i}",
                    content_data={"text": text, "alt_text": "", "media": None},
                    content_hash=text_hash(text),
                    status=status,
                    scheduled_at=at,
                    priority=i % 5,
                    published_at=at if status == S.SUCCESS else None,
                    last_error="X server error" if status == S.FAILED else "",
                )

    _bulk(PublishingTask, rows())


def _logs(projects: list, total: int, now: datetime) -> None:
    from publishing.models import PublishingLog, PublishingTask

    L = PublishingLog.Status
    kinds = [k for k in PublishingLog.ErrorKind.values if k]
    tasks = list(
        PublishingTask.objects.filter(project__in=projects)
        .order_by("id")
        .values_list("id", "project_id", "owner_id", "media_path")
    )
    step = YEAR / total

    def rows():
        for j in range(total):
            task_id, project_id, owner_id, key = tasks[j % len(tasks)]
            failed = j % 20 == 0
            yield PublishingLog(
                task_id=task_id,
                project_id=project_id,
                owner_id=owner_id,
                tweet_id="" if failed else str(1_700_000_000_000_000_000 + j),
                tweet_content=f"post {key}",
                # Oldest first, as the publisher appends them.
                published_at=now - YEAR + step * j,
                status=L.FAILED if failed else L.SUCCESS,
                error_kind=kinds[j % len(kinds)] if failed else "",
                error_message="X answered 503" if failed else "",
                duration_seconds=0.4 + (j % 7) / 10,
            )

    _bulk(PublishingLog, rows())


def _hourly(projects: list, user_id: int, hours: int, now: datetime) -> None:
    from analytics.models import AnalyticsHourly, MessageHourly

    top = now.replace(minute=0, second=0, microsecond=0)
    _bulk(
        AnalyticsHourly,
        (
            AnalyticsHourly(
                hour_timestamp=top - timedelta(hours=h),
                project=project,
                posts_success=3 + h % 4,
                posts_failed=h % 3 == 0,
                posts_skipped=h % 11 == 0,
                avg_duration=0.7,
                failures_server=h % 3 == 0,
            )
            for project in projects
            for h in range(hours)
        ),
    )
    _bulk(
        MessageHourly,
        (
            MessageHourly(
                hour_timestamp=top - timedelta(hours=h), user_id=user_id, warnings_1=h % 5 == 0, resets=h % 7 == 0
            )
            for h in range(hours)
        ),
    )
    from analytics.rollup import rebuild

    rebuild()  # the day rows the hourly aggregation writes beside its hours


def _build(scale: float) -> None:
    from django.utils import timezone

    from publishing.models import Project

    n = counts(scale)
    now = timezone.now()
    started = time.perf_counter()
    heavy, staff, others = _users(n["others"])
    heavy.last_name = f"scale {scale}"
    _log(f"users: {len(others) + 2}")
    _messages([heavy.pk], n["messages"], now)
    _messages(others, 2, now)
    _log(f"messages: {n['messages']} + {2 * len(others)} ({time.perf_counter() - started:.0f} s)")
    mine = [Project.objects.create(owner=heavy, name=f"Project {i}", daily_cap=0) for i in range(1, 6)]
    Project.objects.bulk_create([Project(owner_id=pk, name="Mine", daily_cap=0) for pk in others])
    theirs = list(Project.objects.filter(owner_id__in=others))
    _tasks(mine, n["tasks_per_project"], now)
    _tasks(theirs, 5, now)
    _log(f"tasks: {5 * n['tasks_per_project']} + {5 * len(theirs)} ({time.perf_counter() - started:.0f} s)")
    _logs(mine, n["logs"], now)
    _logs(theirs, 10 * len(theirs), now)
    _log(f"logs: {n['logs']} + {10 * len(theirs)} ({time.perf_counter() - started:.0f} s)")
    _hourly(mine, heavy.pk, n["hours"], now)
    _log(f"hourly rows: {5 * n['hours']} + {n['hours']} ({time.perf_counter() - started:.0f} s)")
    # Marked last: an interrupted build is not taken for a finished one.
    heavy.save(update_fields=["last_name"])


def _analyze() -> None:
    """Fresh index statistics, as a production table has; the plans are judged on them."""
    from django.db import connection

    if connection.vendor != "mysql":
        return
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"ANALYZE TABLE `{table}`")
            cursor.fetchall()


def data_set(scale: float, *, rebuild: bool = False) -> DataSet:
    """The data set at ``scale``: reused when the database holds it, otherwise built from empty."""
    from django.core.management import call_command

    from accounts.models import User
    from messaging.models import Message
    from publishing.models import Project, PublishingLog, PublishingTask

    heavy = User.objects.filter(username=HEAVY).first()
    if rebuild or heavy is None or heavy.last_name != f"scale {scale}":
        _log(f"building the data set at scale {scale} (the database is emptied first)")
        call_command("flush", interactive=False, verbosity=0)
        _build(scale)
        _analyze()
        heavy = User.objects.get(username=HEAVY)
    message = Message.objects.filter(owner=heavy).order_by("-created_at", "-id")[100]
    project = Project.objects.filter(owner=heavy).order_by("name").first()
    return DataSet(
        scale=scale,
        heavy_id=heavy.pk,
        staff_id=User.objects.get(username=STAFF).pk,
        message_id=message.pk,
        task_id=PublishingTask.objects.filter(project=project).order_by("-id").values_list("id", flat=True)[100],
        project_id=project.pk,
        tweet_id=PublishingLog.objects.filter(project=project).exclude(tweet_id="").order_by("id")[500].tweet_id,
        other_email=User.objects.filter(username__startswith="bench-web-u").order_by("id").last().email,
        messages=Message.objects.filter(owner=heavy).count(),
        tasks=PublishingTask.objects.filter(project__owner=heavy).count(),
        logs=PublishingLog.objects.filter(project__owner=heavy).count(),
    )
