"""Benchmark purge_logs: delete N old publishing log rows in short batches.

    DATABASE_URL=mysql://root@127.0.0.1:3306/cradle_bench_an .venv/bin/python bench/purge.py [--n 1000000]

Prints one JSON line: db, rows, seconds, rows_per_s, batches, batch_size, max_batch_s.
Writes N rows older than the cut-off and N/10 younger ones (which must survive).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

_spec = importlib.util.spec_from_file_location("bench_analytics", Path(__file__).with_name("analytics.py"))
bench_analytics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_analytics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="old rows to purge")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the PURGE_BATCH_SIZE setting")
    args = parser.parse_args()
    bench_analytics.setup_django("mysql://root@127.0.0.1:3306/cradle_bench_an")
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from ops.purge import logs_purge
    from publishing.models import PublishingLog

    now = timezone.now()
    first, tasks = bench_analytics.fresh_tasks()
    old_start = now - timedelta(days=400)
    young = args.n // 10
    bench_analytics.insert_logs(count=args.n, start=old_start, span_seconds=200 * 86400, first_task=first, tasks=tasks)
    bench_analytics.insert_logs(
        count=young, start=now - timedelta(days=30), span_seconds=86400, first_task=first, tasks=tasks
    )
    settled_s = bench_analytics.settle()
    batch_size = args.batch_size or settings.PURGE_BATCH_SIZE
    started = time.perf_counter()
    result = logs_purge(table="logs", days=180, batch_size=batch_size, now=now)
    elapsed = time.perf_counter() - started
    assert result.rows == args.n, result
    assert PublishingLog.objects.count() == young
    print(
        json.dumps(
            {
                "db": connection.vendor,
                "rows": result.rows,
                "seconds": round(elapsed, 3),
                "rows_per_s": round(result.rows / elapsed),
                "batches": result.batches,
                "batch_size": batch_size,
                "max_batch_s": round(result.max_batch_s, 4),
                "settle_s": round(settled_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
