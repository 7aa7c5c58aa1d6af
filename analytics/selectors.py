"""Read the hourly tables into chart- and API-ready series, owner-scoped.

Each series is one query: the hourly rows of the caller's projects (or messages) in the
range, summed per hour in SQL, then bucketed into hours or the viewer's local days in
Python (the bucket count is bounded by the range limits), with zeros for empty buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.conf import settings
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.aggregate import MESSAGE_FIELDS, POST_STATUS_FIELDS, PUBLISHING_FIELDS
from analytics.models import AnalyticsHourly, MessageHourly
from cradle_site import dates

HOURLY_MAX_DAYS = 31
PUBLISHING_COUNTS = [name for name in PUBLISHING_FIELDS if name != "avg_duration"]


class RangeError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class SeriesRange:
    first_day: date
    last_day: date  # inclusive
    interval: str  # "hour" or "day"
    tz: tzinfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=self.tz).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), tzinfo=self.tz).astimezone(UTC)

    def buckets(self) -> list[datetime]:
        """Bucket starts: UTC hours, or local midnights (aware, in ``tz``)."""
        if self.interval == "hour":
            count = int((self.end - self.start).total_seconds() // 3600)
            return [self.start + timedelta(hours=i) for i in range(count)]
        days = (self.last_day - self.first_day).days + 1
        return [datetime.combine(self.first_day + timedelta(days=i), time(), tzinfo=self.tz) for i in range(days)]

    def bucket_of(self, hour: datetime) -> datetime:
        if self.interval == "hour":
            # Hour buckets start at local midnight. In a zone a fraction of an hour off UTC
            # (India +5:30, Nepal +5:45) they are not UTC hours: the row goes to the bucket
            # its UTC hour starts in, instead of matching none and leaving the chart empty.
            return self.start + timedelta(hours=(hour - self.start) // timedelta(hours=1))
        local = hour.astimezone(self.tz)
        return datetime.combine(local.date(), time(), tzinfo=self.tz)

    def label(self, bucket: datetime) -> str:
        local = bucket.astimezone(self.tz)
        return local.strftime("%m-%d %H:00") if self.interval == "hour" else local.strftime("%Y-%m-%d")


def series_range(
    *, first_day: date | None, last_day: date | None, interval: str = "auto", tz: tzinfo | None = None
) -> SeriesRange:
    """Validate a requested range; raise RangeError(field, reason) for a bad one.

    Defaults: the last 7 days up to today. ``auto`` picks hours for up to 3 days, else days.
    """
    tz = tz or timezone.get_current_timezone()
    for field, day in (("from", first_day), ("to", last_day)):
        if day is not None and not dates.in_window(day):
            raise RangeError(field, dates.out_of_window_reason())
    today = timezone.now().astimezone(tz).date()
    last_day = last_day or today
    first_day = first_day or (last_day - timedelta(days=6))
    if last_day < first_day:
        raise RangeError("to", _("The end date must be on or after the start date."))
    span = (last_day - first_day).days + 1
    if interval == "auto":
        interval = "hour" if span <= 3 else "day"
    if interval not in {"hour", "day"}:
        raise RangeError("interval", _("Choose hour or day."))
    limit = HOURLY_MAX_DAYS if interval == "hour" else settings.ANALYTICS_MAX_RANGE_DAYS
    if span > limit:
        raise RangeError("from", _("The range may span at most %(days)d days for this interval.") % {"days": limit})
    return SeriesRange(first_day=first_day, last_day=last_day, interval=interval, tz=tz)


def _fill(rng: SeriesRange, rows, fields: list[str]) -> list[dict]:
    points = {bucket: {"start": bucket, **dict.fromkeys(fields, 0)} for bucket in rng.buckets()}
    for row in rows:
        point = points.get(rng.bucket_of(row.pop("hour_timestamp").astimezone(UTC)))
        if point is None:
            continue
        for name, value in row.items():
            point[name] = point.get(name, 0) + (value or 0)
    return list(points.values())


def publishing_series(*, user, rng: SeriesRange, project=None) -> list[dict]:
    """Posts by outcome, failure kinds and mean duration per bucket, for one project or all."""
    qs = AnalyticsHourly.objects.owned_by(user).filter(hour_timestamp__gte=rng.start, hour_timestamp__lt=rng.end)
    if project is not None:
        qs = qs.filter(project=project)
    # Duration is a mean per hour: weight it by the successes to combine hours correctly.
    # (First, so F("posts_success") means the column, not the Sum annotation of that name.)
    sums = {"duration_total": Sum(F("avg_duration") * F("posts_success"))}
    sums.update({name: Sum(name) for name in PUBLISHING_COUNTS})
    rows = qs.values("hour_timestamp").annotate(**sums).order_by("hour_timestamp")
    points = _fill(rng, rows, [*PUBLISHING_COUNTS, "duration_total"])
    for point in points:
        total = point.pop("duration_total")
        point["avg_duration"] = round(total / point["posts_success"], 3) if point["posts_success"] else None
    return points


def message_series(*, user, rng: SeriesRange) -> list[dict]:
    qs = MessageHourly.objects.owned_by(user).filter(hour_timestamp__gte=rng.start, hour_timestamp__lt=rng.end)
    rows = (
        qs.values("hour_timestamp").annotate(**{name: Sum(name) for name in MESSAGE_FIELDS}).order_by("hour_timestamp")
    )
    return _fill(rng, rows, MESSAGE_FIELDS)


def project_totals(*, user, rng: SeriesRange) -> list[dict]:
    """Every project of ``user`` with its totals in the range (two queries), keyed by log status."""
    from publishing.models import Project

    sums = (
        AnalyticsHourly.objects.owned_by(user)
        .filter(hour_timestamp__gte=rng.start, hour_timestamp__lt=rng.end)
        .values("project_id")
        .annotate(**{status.value: Sum(column) for status, column in POST_STATUS_FIELDS.items()})
        .order_by()
    )
    by_project = {row.pop("project_id"): row for row in sums}
    zero = {status.value: 0 for status in POST_STATUS_FIELDS}
    return [
        {"project": project, **by_project.get(project.pk, zero)}
        for project in Project.objects.owned_by(user).order_by("name")
    ]
