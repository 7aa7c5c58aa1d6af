from django.conf import settings
from django.core.management.base import CommandError

from cradle_site.commands import OperatorCommand
from ops.audit import audit_purge
from ops.purge import MAX_BATCH_SIZE, MAX_DAYS, TABLES, logs_purge


class Command(OperatorCommand):
    help = (
        "Delete log rows older than --days in short batches: publishing logs, message status logs "
        "and django-q2 task history; --table=audit deletes audit events older than AUDIT_RETENTION_DAYS "
        "(that table only by name, never by all). Tasks and messages are never deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Delete rows older than this many days, 1 to {MAX_DAYS} (default: PURGE_LOGS_DAYS, "
            f"now {settings.PURGE_LOGS_DAYS}). Not for the audit log: its age is AUDIT_RETENTION_DAYS.",
        )
        parser.add_argument(
            "--table",
            default="logs",
            help=f"Which log table: {', '.join(TABLES)}, all (these), or audit (default: logs).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.PURGE_BATCH_SIZE,
            help=f"Rows deleted per transaction, 1 to {MAX_BATCH_SIZE:,} "
            "(default: PURGE_BATCH_SIZE, now %(default)s); smaller batches hold locks for less time.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would go, delete nothing.")

    def handle(self, *args, days, table, batch_size, dry_run, **options):
        def source(value, setting):
            # A bad default comes from the environment, not from the command line.
            return f" (from {setting})" if value == getattr(settings, setting) else ""

        if table != "all" and table != "audit" and table not in TABLES:
            raise CommandError(f"--table must be one of {', '.join(TABLES)}, all, audit; got {table!r}")
        if table == "audit":
            return self._audit(days, batch_size, dry_run)
        days = settings.PURGE_LOGS_DAYS if days is None else days
        if days < 1:
            raise CommandError(f"--days must be at least 1, got {days}{source(days, 'PURGE_LOGS_DAYS')}")
        if days > MAX_DAYS:
            raise CommandError(
                f"--days must be at most {MAX_DAYS} (100 years), got {days}{source(days, 'PURGE_LOGS_DAYS')}"
            )
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1, got {batch_size}")
        if batch_size > MAX_BATCH_SIZE:
            raise CommandError(
                f"--batch-size must be at most {MAX_BATCH_SIZE}, got {batch_size}{source(batch_size, 'PURGE_BATCH_SIZE')}"
            )
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

    def _audit(self, days, batch_size, dry_run) -> None:
        if days is not None:
            raise CommandError(
                f"--days does not apply to the audit log: it is kept AUDIT_RETENTION_DAYS "
                f"({settings.AUDIT_RETENTION_DAYS}) days"
            )
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")
        result = audit_purge(
            batch_size=batch_size,
            dry_run=dry_run,
            progress=lambda r: self.stderr.write(f"audit: {r.rows:,} rows deleted ({r.batches} batches)"),
        )
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            self.style.SUCCESS(f"audit: {verb} {result.rows:,} rows older than {result.cutoff:%Y-%m-%d %H:%M} UTC")
        )
