"""Claim-and-publish throughput with the dry-run publisher, 1/2/4 worker processes.

    DATABASE_URL=mysql://root@127.0.0.1:3306/cradle_bench_pub DEBUG=1 \\
        .venv/bin/python manage.py init_db   # once, creates the tables
    DATABASE_URL=mysql://root@127.0.0.1:3306/cradle_bench_pub .venv/bin/python bench/publishing.py --n 50000

Per worker count: fill the queue with ``--n`` due tasks, start the workers, release them
together, time until the queue is empty, then check that every task was published exactly
once. Prints one JSON line per worker count.

``--thread-share 0.2`` makes that share of the tasks 3-post threads (a post and two
replies, ``publishing.threads``): the line then also reports the threads' posts per second
(every post of every thread, replies included) and any reply left without its id.

``--networks 3`` spreads the tasks over X and a Mastodon and a Bluesky account of the same
project (a third each; issue 19). The workers run with ``PUBLISHING_NETWORK_DRY_RUN``, so the
copies take the dry run's path as X's tasks do (the network claim batch-sized, the finish
set-based) and the figure is our claim, lease and record machinery per network, not a
network's latency. The line then adds ``per_network``: each network's tasks, published,
tasks per second (its tasks over the time from the release to its last publication) and
tasks with more than one success log.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.workers import run_released  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cradle_site.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/cradle_bench_pub")


def _setup():
    import django

    django.setup()


def worker(batch_size: int) -> None:
    _setup()
    from django.db import connection

    from publishing.runner import publish_due

    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    connection.ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()  # the go signal
    released_at = time.time()
    with connection.execute_wrapper(count):
        stats = publish_due(batch_size=batch_size, run_seconds=3600)
    result = {"published": stats.published, "batches": stats.batches, "queries": queries[0], "released_at": released_at}
    print(json.dumps(result), flush=True)


def bench_accounts(project) -> dict:
    """The project's Mastodon and Bluesky accounts ({network: account}); dry run, no secrets."""
    from publishing.models import Network, NetworkAccount

    accounts = {}
    for network, instance in ((Network.MASTODON, "https://mastodon.example"), (Network.BLUESKY, "")):
        accounts[network], _ = NetworkAccount.objects.get_or_create(
            project=project, network=network, instance_url=instance, handle=f"bench.{network}"
        )
    return accounts


def fill(project, n: int, thread_every: int = 0, networks: int = 1) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from publishing.factories import tasks_bulk_create
    from publishing.models import PublishingLog, PublishingTask

    PublishingLog.objects.filter(task__project=project).delete()
    PublishingTask.objects.filter(project=project).delete()
    past = timezone.now() - timedelta(minutes=1)
    targets = [None]
    if networks == 3:
        targets += list(bench_accounts(project).values())
    share, extra = divmod(n, len(targets))
    for index, account in enumerate(targets):
        tasks_bulk_create(
            project=project,
            count=share + (extra if index == 0 else 0),  # the rest to X
            scheduled_at=past,
            label=f"bench-{account.network if account else 'x'}",
            priority_levels=5,
            thread_every=thread_every,
            thread_replies=2,
            account=account,
        )


def per_network(project, released_at: float) -> dict:
    """Each network's tasks, published, tasks/s up to its last publication, and doubles."""
    from django.db.models import Count, Max

    from publishing.models import Network, PublishingLog, PublishingTask

    out = {}
    for network in Network.values:
        tasks = PublishingTask.objects.filter(project=project)
        logs = PublishingLog.objects.filter(task__project=project, status="success")
        if network == Network.X:
            tasks, logs = tasks.filter(account__isnull=True), logs.filter(task__account__isnull=True)
        else:
            tasks, logs = tasks.filter(account__network=network), logs.filter(task__account__network=network)
        count = tasks.count()
        if not count:
            continue
        last = tasks.aggregate(last=Max("published_at"))["last"]
        seconds = max(last.timestamp() - released_at, 1e-6) if last else None
        out[network] = {
            "tasks": count,
            "published": tasks.filter(status="success").count(),
            "seconds": round(seconds, 3) if seconds else None,
            "tasks_per_s": round(count / seconds, 1) if seconds else 0.0,
            "double_publications": logs.values("task_id").annotate(c=Count("id")).filter(c__gt=1).count(),
        }
    return out


def run(workers: int, n: int, batch_size: int, project, thread_share: float = 0.0, networks: int = 1) -> dict:
    from django.db import connection
    from django.db.models import Count

    from publishing.models import PublishingLog, PublishingTask, ThreadReply

    thread_every = round(1 / thread_share) if thread_share else 0
    fill(project, n, thread_every, networks)
    connection.close()
    command = [sys.executable, __file__, "--worker", "--batch-size", str(batch_size)]
    results, elapsed = run_released(command, workers, cwd=ROOT)
    published = PublishingTask.objects.filter(project=project, status="success").count()
    doubles = (
        PublishingLog.objects.filter(task__project=project, status="success")
        .values("task_id")
        .annotate(c=Count("id"))
        .filter(c__gt=1)
        .count()
    )
    batches = sum(r["batches"] for r in results)
    replies = ThreadReply.objects.filter(task__project=project)
    replies_posted = replies.exclude(posted_id="").count()
    threads = PublishingTask.objects.filter(project=project, reply_count__gt=0, status="success").count()
    thread_posts = threads + replies_posted
    return {
        "db": connection.vendor,
        "workers": workers,
        "tasks": n,
        "published": published,
        "seconds": round(elapsed, 3),
        "tasks_per_s": round(n / elapsed, 1),
        # Tasks with more than one success log. (The workers' own counts also include due
        # tasks of other projects in the same database, so they are not compared here.)
        "double_publications": doubles,
        "published_by_workers": sum(r["published"] for r in results),
        "batch_size": batch_size,
        "queries_per_batch": round(sum(r["queries"] for r in results) / max(batches, 1), 2),
        "thread_share": thread_share,
        "thread_posts": thread_posts,
        "thread_posts_per_s": round(thread_posts / elapsed, 1),
        "replies_without_id": replies.filter(posted_id="").count(),
        "posts_per_s": round((published + replies_posted) / elapsed, 1),
        "networks": networks,
        **({"per_network": per_network(project, min(r["released_at"] for r in results))} if networks > 1 else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="due tasks per run")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--thread-share", type=float, default=0.0, help="share of tasks that are 3-post threads")
    parser.add_argument(
        "--networks", type=int, choices=[1, 3], default=1, help="3: tasks spread over X, Mastodon and Bluesky"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.batch_size)
    if args.networks > 1:
        os.environ["PUBLISHING_NETWORK_DRY_RUN"] = "1"  # the workers' copies take the dry run's path
    _setup()
    from accounts.models import User
    from publishing.models import Project

    user, _ = User.objects.get_or_create(username="bench-publishing", defaults={"email": "bench-pub@example.com"})
    project, _ = Project.objects.get_or_create(owner=user, name="bench", defaults={"daily_cap": 0})
    for count in [int(w) for w in args.workers.split(",")]:
        print(json.dumps(run(count, args.n, args.batch_size, project, args.thread_share, args.networks)), flush=True)


if __name__ == "__main__":
    main()
