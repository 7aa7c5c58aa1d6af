from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.ops.purge import TABLES, logs_purge


class Command(BaseCommand):
    help = (
        "Delete log rows older than --days in short batches: publishing logs, message status logs "
        "and django-q2 task history. Tasks and messages are never deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.PURGE_LOGS_DAYS, help="Age cut-off in days.")
        parser.add_argument(
            "--table",
            default="logs",
            help=f"Which log table: {', '.join(TABLES)} or all (default: logs).",
        )
        parser.add_argument("--batch-size", type=int, default=settings.PURGE_BATCH_SIZE, help="Rows per batch.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would go, delete nothing.")

    def handle(self, *args, days, table, batch_size, dry_run, **options):
        if table != "all" and table not in TABLES:
            raise CommandError(f"--table must be one of {', '.join(TABLES)}, all; got {table!r}")
        if days < 1:
            raise CommandError(f"--days must be at least 1, got {days}")
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1, got {batch_size}")
        tables = list(TABLES) if table == "all" else [table]
        for name in tables:
            result = logs_purge(
                table=name,
                days=days,
                batch_size=batch_size,
                dry_run=dry_run,
                progress=lambda r: self.stderr.write(f"{r.table}: {r.rows:,} rows deleted ({r.batches} batches)"),
            )
            verb = "would delete" if dry_run else "deleted"
            line = f"{name}: {verb} {result.rows:,} rows older than {result.cutoff:%Y-%m-%d %H:%M} UTC"
            if not dry_run:
                line += f" in {result.batches} batches (longest {result.max_batch_s:.3f} s)"
            self.stdout.write(self.style.SUCCESS(line))
