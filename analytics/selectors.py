"""Read the hourly tables into chart- and API-ready series, owner-scoped.

Each series is one query over the hourly rows of the caller's projects (or messages) in the
range, summed in SQL per bucket: per UTC hour for hour charts, per the viewer's local day
for day charts (a year is 366 rows from the database, not 8,784), then filled with zeros for
empty buckets in Python. Local days are computed without time zone tables (MySQL needs them
for CONVERT_TZ): the zone's UTC offsets over the range are known in Python, so the day is
``floor((hours since 1970 * 3600 + offset) / 86400)`` with the offset as a CASE on the hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise

from django.conf import settings
from django.db.models import Case, F, IntegerField, Sum, Value, When
from django.db.models.functions import Floor
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.aggregate import EPOCH, HOUR, MESSAGE_FIELDS, POST_STATUS_FIELDS, PUBLISHING_FIELDS, HoursSinceEpoch
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


def _offsets(rng: SeriesRange) -> list[tuple[datetime, int]]:
    """``(from this UTC hour on, the zone's UTC offset in seconds)`` across the range; one entry per DST change."""
    changes: list[tuple[datetime, int]] = []
    hour = rng.start
    while hour < rng.end:
        offset = int(hour.astimezone(rng.tz).utcoffset().total_seconds())
        if not changes or changes[-1][1] != offset:
            changes.append((hour, offset))
        hour += HOUR
    return changes


def _local_day(rng: SeriesRange) -> Floor:
    """Days since 1970 of each row's hour in the viewer's zone, as SQL (see the module docstring)."""
    changes = _offsets(rng)
    offset = Case(
        *(When(hour_timestamp__lt=until, then=Value(seconds)) for (_, seconds), (until, _) in pairwise(changes)),
        default=Value(changes[-1][1]),
        output_field=IntegerField(),
    )
    return Floor((HoursSinceEpoch("hour_timestamp") * 3600 + offset) / 86400)


def _summed(rng: SeriesRange, qs, sums: dict) -> list[tuple[datetime, dict]]:
    """``(bucket start, {name: sum})`` per hour or local day with rows, summed by the database."""
    if rng.interval == "hour":
        rows = qs.values("hour_timestamp").annotate(**sums).order_by("hour_timestamp")
        return [(rng.bucket_of(row.pop("hour_timestamp").astimezone(UTC)), row) for row in rows]
    rows = qs.annotate(local_day=_local_day(rng)).values("local_day").annotate(**sums).order_by("local_day")
    first = EPOCH.date()
    return [
        (datetime.combine(first + timedelta(days=int(row.pop("local_day"))), time(), tzinfo=rng.tz), row)
        for row in rows
    ]


def _fill(rng: SeriesRange, summed: list[tuple[datetime, dict]], fields: list[str]) -> list[dict]:
    points = {bucket: {"start": bucket, **dict.fromkeys(fields, 0)} for bucket in rng.buckets()}
    for bucket, row in summed:
        point = points.get(bucket)
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
    points = _fill(rng, _summed(rng, qs, sums), [*PUBLISHING_COUNTS, "duration_total"])
    for point in points:
        total = point.pop("duration_total")
        point["avg_duration"] = round(total / point["posts_success"], 3) if point["posts_success"] else None
    return points


def message_series(*, user, rng: SeriesRange) -> list[dict]:
    qs = MessageHourly.objects.owned_by(user).filter(hour_timestamp__gte=rng.start, hour_timestamp__lt=rng.end)
    return _fill(rng, _summed(rng, qs, {name: Sum(name) for name in MESSAGE_FIELDS}), MESSAGE_FIELDS)


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
