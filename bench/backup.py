"""Benchmark backups: backup, off-site upload, restore, and binlog replay of a database of N log rows.

    DATABASE_URL=mysql://root@127.0.0.1:3307/cradle_bench_backup .venv/bin/python bench/backup.py \
        [--logs 1000000] [--messages 100000] [--replay-logs 100000]

Prints one JSON line per phase: phase, db, seconds (the phase itself), peak_rss_mb (the Python
process during the phase: its peak is reset after Django's start-up), tools_peak_rss_mb (the
tools the phase ran at their largest: mariadb-dump, the mariadb client, mariadb-binlog, sampled), and rows /
rows_per_s where rows move (restore, binlog replay). Each phase runs in its own process. The upload goes to BACKUP_S3_URL, or to a bucket on the local moto server
(http://127.0.0.1:5005, bin/services) when none is set. The binlog replay needs a server with a
binary log (3307 of bin/services); on SQLite that phase is skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

_spec = importlib.util.spec_from_file_location("bench_analytics", Path(__file__).with_name("analytics.py"))
bench_analytics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_analytics)

DEFAULT_DB = "mysql://root@127.0.0.1:3307/cradle_bench_backup"
WORK = ROOT / "var" / "bench-backup"


def _rows() -> int:
    from django.db import connection

    from messaging.models import Message
    from publishing.models import PublishingLog

    connection.close()
    return PublishingLog.objects.count() + Message.objects.count()


def _fill(logs: int, messages: int) -> None:
    from django.utils import timezone

    from accounts.models import User
    from messaging.models import Message

    first, tasks = bench_analytics.fresh_tasks()
    bench_analytics.insert_logs(
        count=logs, start=timezone.now() - timedelta(days=30), span_seconds=29 * 86400, first_task=first, tasks=tasks
    )
    Message.objects.all().delete()
    user = User.objects.get(username="bench")
    when = timezone.now() + timedelta(days=30)
    for start in range(0, messages, 5000):
        Message.objects.bulk_create(
            Message(owner=user, title=f"bench {n}", next_warning_date=when, revocation_key_hash=f"{n:032x}")
            for n in range(start, min(messages, start + 5000))
        )
    bench_analytics.settle()


def phase(name: str) -> dict:
    """Run inside the child process: one phase, timed."""
    from django.conf import settings

    from ops import binlog, offsite
    from ops.backup import backup_create, backup_list, backup_restore

    quiet = lambda line: None  # noqa: E731
    _reset_peak_rss()
    tools = _ToolSampler()
    started = time.perf_counter()
    result: dict = {}
    if name == "backup":
        settings.BACKUP_S3_URL = ""  # the upload is its own phase
        path = backup_create(directory=WORK, keep=1, progress=quiet)
        result["bytes"] = path.stat().st_size
    elif name == "upload":
        result["bytes"] = backup_list(WORK)[-1].stat().st_size
        offsite.upload(backup_list(WORK)[-1])
    elif name == "restore":
        rows = _rows()
        started = time.perf_counter()
        backup_restore(path=backup_list(WORK)[-1], force=True, progress=quiet)
        result["rows"] = rows
    elif name == "replay":
        from django.db import connection

        from publishing.models import PublishingLog

        before = PublishingLog.objects.count()
        binlog.binlog_archive(directory=WORK / "binlogs", progress=quiet)
        backup_restore(path=backup_list(WORK)[-1], force=True, progress=quiet)
        restored = PublishingLog.objects.count()
        start = json.loads(binlog.sidecar(backup_list(WORK)[-1]).read_text())
        database = connection.settings_dict["NAME"]
        started = time.perf_counter()
        binlog.replay(
            start=(start["binlog_file"], start["binlog_pos"]),
            until=None,
            source_database=database,
            database=database,
            directory=WORK / "binlogs",
            progress=quiet,
        )
        result["rows"] = PublishingLog.objects.count() - restored
        assert PublishingLog.objects.count() == before, "the replay must bring back every row"
    result["seconds"] = round(time.perf_counter() - started, 3)
    if result.get("rows"):
        result["rows_per_s"] = round(result["rows"] / result["seconds"])
    result["peak_rss_mb"] = _peak_rss_mb()
    result["tools_peak_rss_mb"] = round(tools.stop() / 1024, 1)
    return result


class _ToolSampler(threading.Thread):
    """The largest summed RSS of the tools this process runs (mariadb-dump, the mariadb client,
    mariadb-binlog), sampled every 20 ms from /proc: their own ru_maxrss would count the pages
    of the Python process they were forked from."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self._done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self._done.wait(0.02):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(pid) for pid in _descendants(os.getpid())))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kb


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in map(int, children.read().split()):
                    found += [child, *_descendants(child)]
    except OSError:
        pass
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak_rss() -> None:
    """Start the phase's peak afresh: Django's start-up and init_db are not the phase."""
    with open("/proc/self/clear_refs", "w") as out:
        out.write("5")  # resets VmHWM (Linux 4.0+)


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _run_phase(name: str) -> dict:
    child = subprocess.Popen(
        [sys.executable, __file__, "--phase", name], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=os.environ
    )
    out = child.stdout.read()
    if child.wait() != 0:
        raise SystemExit(f"phase {name} failed")
    return {"phase": name, **json.loads(out.strip().splitlines()[-1])}


def _local_s3() -> None:
    if os.environ.get("BACKUP_S3_URL"):
        return
    import boto3

    endpoint = os.environ.setdefault("BACKUP_S3_ENDPOINT_URL", "http://127.0.0.1:5005")
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(name, value)
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="cradle-bench")
    os.environ["BACKUP_S3_URL"] = "s3://cradle-bench/bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=1_000_000, help="publishing log rows")
    parser.add_argument("--messages", type=int, default=100_000, help="messages")
    parser.add_argument("--replay-logs", type=int, default=100_000, help="rows written after the backup, then replayed")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ["BACKUP_DIR"], os.environ["BINLOG_DIR"] = str(WORK), str(WORK / "binlogs")
    if args.phase:
        bench_analytics.setup_django(DEFAULT_DB)
        print(json.dumps(phase(args.phase)))
        return
    _local_s3()
    WORK.mkdir(parents=True, exist_ok=True)
    for old in WORK.rglob("*"):
        if old.is_file():
            old.unlink()
    bench_analytics.setup_django(DEFAULT_DB)
    from django.db import connection

    from ops import binlog

    _fill(args.logs, args.messages)
    vendor = connection.vendor
    for name in ("backup", "upload", "restore"):
        print(json.dumps({"db": vendor, "logs": args.logs, "messages": args.messages, **_run_phase(name)}), flush=True)
    if vendor == "mysql" and binlog.log_bin_enabled():
        from django.utils import timezone

        from ops.backup import backup_create

        # A fresh backup: the binlog after the restore phase holds that restore's own reload.
        backup_create(directory=WORK, keep=1, progress=lambda line: None)
        first, tasks = _task_range()
        bench_analytics.insert_logs(
            count=args.replay_logs, start=timezone.now(), span_seconds=3600, first_task=first, tasks=tasks
        )
        connection.close()
        print(json.dumps({"db": vendor, **_run_phase("replay")}), flush=True)


def _task_range() -> tuple[int, int]:
    from publishing.models import PublishingTask

    ids = sorted(PublishingTask.objects.values_list("pk", flat=True))
    return ids[0], len(ids)


if __name__ == "__main__":
    main()
