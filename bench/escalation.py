#!/usr/bin/env python
"""Benchmark the escalation sweep against a naive per-object loop.

    DATABASE_URL=mysql://root@127.0.0.1:3306/cradle_bench .venv/bin/python bench/escalation.py --n 200000

Creates ``--n`` active messages (``--due`` of them due, spread over levels 0-4) for its own
user on the configured database (the same ``DATABASE_URL`` as the site; run
``manage.py init_db`` on a dedicated database first), times ``--repeat`` full sweeps (the
due messages are put back exactly as they were before each) and reports the median, then
times the naive loop (load one message, change it, ``save()``, create its log) on the same
data. With ``--ladders K`` the messages are spread over K ladders (the seed's, the presets, then
custom ones; ``messaging.ladder``): a batch is still advanced with one UPDATE per level present,
each ladder's next interval a ``CASE`` in it (``messaging.sweep``). With ``--workers K`` it also sweeps the same due messages with K processes at once
and checks that each message was warned exactly once. Prints one JSON line.
Its rows are deleted at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cradle_site.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from bench.workers import run_released  # noqa: E402
from messaging import history, ladder  # noqa: E402
from messaging.models import WARNING_STATUSES, Delivery, Message, MessageBody, Recipient, StaffAlarm, StatusLog  # noqa: E402
from messaging.sweep import sweep_due  # noqa: E402

USERNAME = "bench-escalation"


def clear(user: User) -> None:
    for model in (StatusLog, Delivery, Recipient, MessageBody):  # a delivery takes its staff alarm along
        model.objects.filter(message__owner=user).delete()
    Message.objects.filter(owner=user).delete()


def bench_ladders(k: int) -> list[tuple[str, list[int] | None]]:
    """K ladders as stored (``ladder_preset``, ``ladder_seconds``): the seed's, the presets, then custom ones."""
    chosen: list[tuple[str, list[int] | None]] = [("", None)]
    chosen += [(name, list(p.seconds)) for name, p in ladder.PRESETS.items()]
    day = 86400
    extra = 0
    while len(chosen) < k:
        extra += 1  # five warnings, each ladder's gaps a few minutes apart from the others'
        chosen.append((ladder.CUSTOM, [30 * day + extra * 60, 30 * day, 30 * day, 7 * day, day, day + extra * 60]))
    return chosen[:k]


def populate(user: User, n: int, due: int, now, content_chars: int = 500, ladders: int = 1) -> None:
    rng = random.Random(42)
    due_set = set(rng.sample(range(n), due))
    choices = bench_ladders(ladders)
    batch = []
    for i in range(n):
        preset, seconds = choices[i % len(choices)]
        warnings = len(seconds) - 1 if seconds else 5
        if i in due_set:
            # A warning at every level the ladder has (its last one would start a delivery instead).
            level, next_at = rng.randint(0, warnings - 1), now - timedelta(minutes=rng.randint(1, 600))
        else:
            level, next_at = 0, now + timedelta(days=rng.randint(1, 300))
        batch.append(
            Message(
                owner=user,
                ladder_preset=preset,
                ladder_seconds=seconds,
                initial_delay_months=1,
                created_at=now - timedelta(days=40),
                cycle_started_at=now - timedelta(days=40),
                warning_level=level,
                next_warning_date=next_at,
                revocation_key_hash=secrets.token_hex(32),
            )
        )
        if len(batch) == 5000:
            Message.objects.bulk_create(batch)
            batch = []
    Message.objects.bulk_create(batch)
    # Every message has its (encrypted) text, in its own table as in production.
    text = ("Words for the people I love. " * (content_chars // 29 + 1))[:content_chars]
    ids = list(Message.objects.filter(owner=user).values_list("id", flat=True))
    for start in range(0, len(ids), 5000):
        MessageBody.objects.bulk_create([MessageBody(message_id=pk, content=text) for pk in ids[start : start + 5000]])


def restore(user: User, before: list, now) -> None:
    """Put the due messages back exactly as they were (level, due time) and drop what the last run wrote."""
    StatusLog.objects.filter(message__owner=user).delete()
    StaffAlarm.objects.filter(delivery__message__owner=user).delete()
    groups: dict[tuple, list[int]] = defaultdict(list)
    for pk, level, at in before:
        groups[(level, at)].append(pk)  # populate() uses whole minutes: at most a few thousand groups
    for (level, at), ids in groups.items():
        Message.objects.filter(id__in=ids).update(
            warning_level=level, next_warning_date=at, last_warning_at=None, warning_email_due_at=None
        )


def warm_up() -> None:
    """Read the message table and the sweep's index once, as a sweep that runs every minute keeps them cached.

    Without this the timing depends on what the inserts just before it left in the
    database's cache (the message texts, which the sweep never reads), not on the sweep.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT SUM(warning_level), MAX(last_warning_at) FROM {Message._meta.db_table}")
        cursor.fetchall()
    # The index the claim walks (msg_sweep_outbox_idx covers this count).
    Message.objects.filter(state=Message.State.ACTIVE, warning_email_due_at__isnull=True).count()


def sweep_worker(now_iso: str, batch_size: int | None) -> None:
    """One of ``--workers`` processes: wait for the go line, sweep, print what it did."""
    connection.ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()
    result = sweep_due(now=datetime.fromisoformat(now_iso), batch_size=batch_size)
    print(json.dumps({"advanced": result.advanced, "batches": result.batches}), flush=True)


def sweep_in_processes(workers: int, now, batch_size: int | None, user: User) -> dict:
    """Sweep the same due messages with ``workers`` processes at once; check each was warned once."""
    connection.close()
    command = [sys.executable, __file__, "--sweep-worker", now.isoformat()]
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    results, elapsed = run_released(command, workers)
    logs = StatusLog.objects.filter(message__owner=user, status__in=list(WARNING_STATUSES.values()))
    twice = logs.values("message_id").annotate(c=Count("id")).filter(c__gt=1).count()
    advanced = sum(r["advanced"] for r in results)
    return {
        "workers": workers,
        "workers_per_s": round(advanced / elapsed),
        "workers_advanced": advanced,
        "workers_logs": logs.count(),
        "workers_warned_twice": twice,
        "workers_share": [r["advanced"] for r in results],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="active messages (default 200000)")
    parser.add_argument("--due-fraction", type=float, default=0.1, help="share of them that is due (default 0.1)")
    parser.add_argument("--batch-size", type=int, default=None, help="sweep batch size (default: the setting)")
    parser.add_argument("--content-chars", type=int, default=500, help="length of each message's text (default 500)")
    parser.add_argument("--repeat", type=int, default=3, help="timed sweeps; the median is reported (default 3)")
    parser.add_argument(
        "--workers", type=int, default=1, help="also sweep with this many processes at once (default 1: only one)"
    )
    parser.add_argument(
        "--ladders", type=int, default=1, help="spread the messages over this many ladders (default 1: the seed's)"
    )
    parser.add_argument("--sweep-worker", metavar="NOW", help=argparse.SUPPRESS)
    parser.add_argument("--naive-limit", type=int, default=5000, help="messages the naive loop handles (default 5000)")
    args = parser.parse_args()
    if args.sweep_worker:
        return sweep_worker(args.sweep_worker, args.batch_size)
    if args.n < 1 or args.repeat < 1 or args.workers < 1 or args.ladders < 1 or not 0 < args.due_fraction <= 1:
        parser.error("--n, --repeat, --workers and --ladders must be positive and --due-fraction in (0, 1]")

    call_command("migrate", verbosity=0, interactive=False)
    user, _ = User.objects.get_or_create(username=USERNAME, defaults={"email": "bench-escalation@example.invalid"})
    clear(user)
    now = timezone.now()
    due = max(1, int(args.n * args.due_fraction))
    print(f"creating {args.n} messages ({due} due) on {connection.vendor}…", file=sys.stderr)
    populate(user, args.n, due, now, args.content_chars, args.ladders)
    before = list(Message.objects.due(now).filter(owner=user).values_list("id", "warning_level", "next_warning_date"))

    runs = []
    for run in range(args.repeat):
        if run:
            restore(user, before, now)
        warm_up()
        reset_queries()  # the query log is a bounded deque: a full one would undercount the sweep's queries
        print(f"sweep {run + 1}/{args.repeat}…", file=sys.stderr)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = sweep_due(now=now, batch_size=args.batch_size)
            elapsed = time.perf_counter() - started
        assert result.advanced == len(before), (result.advanced, len(before))
        runs.append((elapsed, result, round(len(queries) / max(result.batches, 1), 1)))
    elapsed, result, per_batch = sorted(runs, key=lambda r: r[0])[len(runs) // 2]  # the median run
    restore(user, before, now)
    parallel = {}
    if args.workers > 1:
        warm_up()
        print(f"sweeping with {args.workers} processes…", file=sys.stderr)
        parallel = sweep_in_processes(args.workers, now, args.batch_size, user)
        restore(user, before, now)
    naive_ids = [pk for pk, _lv, _at in before][: args.naive_limit]
    print(f"naive loop over {len(naive_ids)} messages…", file=sys.stderr)
    reset_queries()
    started = time.perf_counter()
    for pk in naive_ids:
        message = Message.objects.get(pk=pk)
        message.warning_level += 1
        message.last_warning_at = now
        message.next_warning_date = now + ladder.ladder_of(message).interval_after(message.warning_level)
        message.save()
        StatusLog.objects.create(
            message=message,
            created_at=now,
            **history.warning_sent(level=message.warning_level, next_step_at=message.next_warning_date),
        )
    naive_elapsed = time.perf_counter() - started

    messages_per_s = result.advanced / elapsed
    naive_per_s = len(naive_ids) / naive_elapsed
    db = connection.vendor
    if db == "mysql":
        db = f"mysql ({connection.mysql_server_data['version']})" if hasattr(connection, "mysql_server_data") else db
    clear(user)
    print(
        json.dumps(
            {
                "db": db,
                "n": args.n,
                "ladders": args.ladders,
                "due": result.advanced,
                "batches": result.batches,
                "seconds": round(elapsed, 3),
                "runs_per_s": [round(r[1].advanced / r[0]) for r in runs],
                "messages_per_s": round(messages_per_s),
                "naive_n": len(naive_ids),
                "naive_per_s": round(naive_per_s),
                "ratio": round(messages_per_s / naive_per_s, 1),
                "queries_per_batch": per_batch,
                **parallel,
            }
        )
    )


if __name__ == "__main__":
    main()
