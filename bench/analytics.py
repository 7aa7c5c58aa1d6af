"""Benchmark the hourly aggregation: one hour of N log rows, and a backfill of many days.

    DATABASE_URL=mysql://root@127.0.0.1:3306/cradle_bench_an .venv/bin/python bench/analytics.py [--n 1000000]

Prints one JSON line: db, hour_rows, hour_s, backfill_rows, backfill_s, backfill_rows_per_s.
Uses a dedicated database (created with init_db); its publishing tables are emptied first.
Rows are generated in SQL (INSERT ... SELECT from a number sequence), not through the ORM.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the app: make sure `import analytics` finds the app, not this script.
sys.path[0] = str(ROOT)

BASE = datetime(2025, 1, 1, tzinfo=UTC)
KINDS = ["rate_limit", "auth", "duplicate", "media", "server", "network", "other"]


def setup_django(default_db: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cradle_site.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DATABASE_URL", default_db)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("init_db", verbosity=0, stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))


def fresh_tasks(projects: int = 10, per_project: int = 10) -> tuple[int, int]:
    """Empty the publishing tables, create projects and tasks; return (first task id, count)."""
    from django.db import connection

    from accounts.models import User
    from publishing.factories import tasks_bulk_create
    from publishing.models import Project, PublishingLog, PublishingTask

    _empty(PublishingLog._meta.db_table)
    PublishingTask.objects.all().delete()
    Project.objects.all().delete()
    user, _ = User.objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
    made = Project.objects.bulk_create(Project(owner=user, name=f"bench-{i}") for i in range(projects))
    for project in made:
        tasks_bulk_create(project=project, count=per_project, scheduled_at=BASE)
    ids = sorted(PublishingTask.objects.values_list("pk", flat=True))
    assert ids[-1] - ids[0] + 1 == len(ids), "task ids must be contiguous for the SQL generator"
    connection.close()
    return ids[0], len(ids)


def _empty(table: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"DELETE FROM {table}")
        else:
            cursor.execute(f"TRUNCATE TABLE {table}")


def insert_logs(*, count: int, start: datetime, span_seconds: int, first_task: int, tasks: int) -> None:
    """INSERT count log rows spread evenly over [start, start + span), in chunks of 200k."""
    from django.db import connection

    table = "publishing_publishinglog"
    kinds = ", ".join(f"'{k}'" for k in KINDS)
    chunk = 200_000
    done = 0
    with connection.cursor() as cursor:
        while done < count:
            size = min(chunk, count - done)
            if connection.vendor == "sqlite":
                source = f"(WITH RECURSIVE s(seq) AS (SELECT {done + 1} UNION ALL SELECT seq + 1 FROM s WHERE seq < {done + size}) SELECT seq FROM s)"
                when = f"strftime('%Y-%m-%d %H:%M:%f', '{start:%Y-%m-%d %H:%M:%S}', '+' || (((seq - 1) * {span_seconds}) / {count}) || ' seconds')"
                kind = f"CASE WHEN seq % 10 IN (7, 8) THEN (CASE seq % 7 {' '.join(f'WHEN {i} THEN {k!r}' for i, k in enumerate(KINDS))} END) ELSE '' END"
            else:
                source = f"(SELECT seq FROM seq_{done + 1}_to_{done + size}) AS s"
                when = f"TIMESTAMPADD(SECOND, ((seq - 1) * {span_seconds}) DIV {count}, '{start:%Y-%m-%d %H:%M:%S}')"
                kind = f"IF(seq % 10 IN (7, 8), ELT(seq % 7 + 1, {kinds}), '')"
            status = "CASE WHEN seq % 10 < 7 THEN 'success' WHEN seq % 10 < 9 THEN 'failed' ELSE 'skipped' END"
            cursor.execute(
                f"INSERT INTO {table} (task_id, project_id, owner_id, tweet_id, tweet_content, published_at, status, "
                f"error_kind, error_message, duration_seconds, dry_run) "
                f"SELECT {first_task} + seq % {tasks}, (SELECT t.project_id FROM publishing_publishingtask t "
                f"WHERE t.id = {first_task} + seq % {tasks}), (SELECT p.owner_id FROM publishing_publishingtask t "
                f"JOIN publishing_project p ON p.id = t.project_id WHERE t.id = {first_task} + seq % {tasks}), "
                f"'', '', {when}, {status}, {kind}, '', "
                f"(seq % 1000) / 100.0, 0 FROM {source}"
            )
            done += size
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()


def settle(limit_s: float = 30.0) -> float:
    """Wait until InnoDB has flushed the pages the bulk insert dirtied, so the timing that
    follows measures the operation, not the server writing back the test data."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return 0.0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        while time.perf_counter() - started < limit_s:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
            if int(cursor.fetchone()[1]) < 200:
                break
            time.sleep(0.5)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="log rows for the backfill (spread over --days)")
    parser.add_argument("--hour-n", type=int, default=100_000, help="log rows in the one-hour run")
    parser.add_argument("--days", type=int, default=10, help="days the backfill rows span")
    args = parser.parse_args()
    setup_django("mysql://root@127.0.0.1:3306/cradle_bench_an")
    from django.db import connection

    from analytics.aggregate import backfill, hourly_aggregate
    from analytics.models import AnalyticsHourly

    first, tasks = fresh_tasks()
    AnalyticsHourly.objects.all().delete()
    insert_logs(count=args.hour_n, start=BASE, span_seconds=3600, first_task=first, tasks=tasks)
    settle()
    timings = []
    for _ in range(3):
        result = hourly_aggregate(since=BASE, until=BASE + timedelta(hours=1))
        assert result.log_rows == args.hour_n, result
        timings.append(result.seconds)

    _empty("publishing_publishinglog")
    AnalyticsHourly.objects.all().delete()
    insert_logs(count=args.n, start=BASE, span_seconds=args.days * 86400, first_task=first, tasks=tasks)
    settle()
    started = time.perf_counter()
    total = backfill(since=BASE, until=BASE + timedelta(days=args.days))
    elapsed = time.perf_counter() - started
    assert total.log_rows == args.n, total
    print(
        json.dumps(
            {
                "db": connection.vendor,
                "hour_rows": args.hour_n,
                "hour_s": round(statistics.median(timings), 4),
                "hour_s_first": round(timings[0], 4),
                "backfill_rows": args.n,
                "backfill_days": args.days,
                "backfill_s": round(elapsed, 3),
                "backfill_rows_per_s": round(args.n / elapsed),
            }
        )
    )


if __name__ == "__main__":
    main()
