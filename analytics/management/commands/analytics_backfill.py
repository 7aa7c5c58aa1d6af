from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from analytics.aggregate import backfill


def _moment(value: str, name: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--{name} must be a date (2024-05-01) or an ISO date-time, got {value!r}")
        parsed = datetime(day.year, day.month, day.day)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


class Command(BaseCommand):
    help = (
        "Recompute hourly statistics for a range (UTC), one day at a time. Safe to re-run: it "
        "rewrites the range from the logs. Dates are inclusive starts; --until is exclusive."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="Start (date or ISO date-time, UTC if no offset).")
        parser.add_argument("--until", default=None, help="End, exclusive (default: now).")
        parser.add_argument("--dry-run", action="store_true", help="Check the range, compute nothing.")

    def handle(self, *args, since, until, dry_run, **options):
        start = _moment(since, "since")
        end = _moment(until, "until") if until else timezone.now()
        if end <= start:
            raise CommandError(f"--until ({end.isoformat()}) must be after --since ({start.isoformat()})")
        if dry_run:
            self.stdout.write(f"Would recompute {start.isoformat()} .. {end.isoformat()}.")
            return

        def report(part):
            self.stderr.write(
                f"{part.since:%Y-%m-%d %H:%M}..{part.until:%H:%M}: {part.log_rows:,} log rows, "
                f"{part.publishing_rows + part.message_rows:,} hourly rows ({part.seconds:.2f} s)"
            )

        total = backfill(since=start, until=end, progress=report)
        self.stdout.write(
            self.style.SUCCESS(
                f"Backfilled {total.log_rows:,} log rows into {total.publishing_rows:,} publishing and "
                f"{total.message_rows:,} message hours in {total.seconds:.1f} s."
            )
        )
