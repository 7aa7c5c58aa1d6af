from datetime import UTC, datetime

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from analytics.aggregate import backfill
from cradle_site.commands import OperatorCommand
from cradle_site.dates import FIRST_DAY, LAST_DAY, in_window


def _moment(value: str, name: str) -> datetime:
    try:
        # Both return None for a malformed value but raise ValueError for a well-formed
        # impossible one (2024-02-30, 25:00, an offset of +99:00).
        parsed = parse_datetime(value)
        day = parse_date(value) if parsed is None else None
    except ValueError:
        parsed = day = None
    if parsed is None:
        if day is None:
            raise CommandError(f"--{name} must be a date (2024-05-01) or an ISO date-time, got {value!r}")
        parsed = datetime(day.year, day.month, day.day)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    # Years 1 and 9999 overflow when moved to UTC or rounded to the hour; nothing is logged there.
    if not in_window(parsed):
        raise CommandError(f"--{name} must be between {FIRST_DAY} and {LAST_DAY}, got {value!r}")
    return parsed


class Command(OperatorCommand):
    help = (
        "Recompute hourly statistics for a range (UTC), one day at a time. Safe to re-run: it "
        "rewrites the range from the logs. --since is inclusive, --until exclusive; an --until "
        "in the future stops at the current hour. Progress, one line a day, goes to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            required=True,
            help="Start, inclusive: a date (2024-05-01) or an ISO date-time (2024-05-01T06:00, UTC if no offset).",
        )
        parser.add_argument(
            "--until",
            default=None,
            help="End, exclusive, in the same forms (default and latest: the end of the current hour).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check the range, compute nothing.")

    def handle(self, *args, since, until, dry_run, **options):
        start = _moment(since, "since")
        now = timezone.now()
        if start >= now:
            raise CommandError(f"--since ({start.isoformat()}) is in the future; there is nothing to recompute yet")
        end = _moment(until, "until") if until else now
        if end > now:
            # No log row is dated after now; a far --until (9999-12-31) would walk empty days for hours.
            self.stderr.write(f"--until {end.isoformat()} is in the future; stopping at the current hour.")
            end = now
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
