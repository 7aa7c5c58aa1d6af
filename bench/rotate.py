"""Benchmark rotate_secrets: re-encrypt N messages (title + content, 2N values) under a new key.

    DATABASE_URL=mysql://root@127.0.0.1:3306/cradle_bench_an .venv/bin/python bench/rotate.py [--n 100000]

Prints one JSON line: db, rows, values, seconds, values_per_s, batch_size.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

_spec = importlib.util.spec_from_file_location("bench_analytics", Path(__file__).with_name("analytics.py"))
bench_analytics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_analytics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="messages to re-encrypt")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    bench_analytics.setup_django("mysql://root@127.0.0.1:3306/cradle_bench_an")
    from cryptography.fernet import Fernet
    from django.db import connection
    from django.test.utils import override_settings
    from django.utils import timezone

    from accounts.models import User
    from messaging.models import Message, MessageBody
    from ops.rotation import column_rotate

    user, _ = User.objects.get_or_create(username="bench-rotate", defaults={"email": "bench-rotate@example.com"})
    Message.objects.filter(owner=user).only("pk").delete()  # never decrypts, whatever key a crashed run left
    due = timezone.now() + timedelta(days=30)
    for start in range(0, args.n, 5000):
        made = Message.objects.bulk_create(
            Message(owner=user, title=f"title {i}", next_warning_date=due, revocation_key_hash=uuid.uuid4().hex)
            for i in range(start, min(start + 5000, args.n))
        )
        MessageBody.objects.bulk_create(MessageBody(message=m, content=f"the plan, part {m.pk}") for m in made)
    from django.conf import settings

    values = 0
    with override_settings(FERNET_KEYS=[Fernet.generate_key().decode(), *settings.FERNET_KEYS]):
        started = time.perf_counter()
        for model, name in ((Message, "title"), (MessageBody, "content")):
            values += column_rotate(
                model=model,
                field=model._meta.get_field(name),
                batch_size=args.batch_size,
                dry_run=False,
                progress=lambda line: None,
            )
        elapsed = time.perf_counter() - started
        Message.objects.filter(owner=user).only("pk").delete()  # while the new key is known: leave nothing unreadable
    print(
        json.dumps(
            {
                "db": connection.vendor,
                "rows": args.n,
                "values": values,
                "seconds": round(elapsed, 3),
                "values_per_s": round(values / elapsed),
                "batch_size": args.batch_size,
            }
        )
    )


if __name__ == "__main__":
    main()
