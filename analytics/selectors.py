"""Read the statistics tables into chart- and API-ready series, owner-scoped.

Each series is summed in SQL per bucket: per UTC hour for hour charts, per the viewer's
local day or week for day and week charts, then filled with zeros for empty buckets in Python.

The coverage rule: a UTC day that lies wholly inside one bucket is read from the day
roll-ups (``AnalyticsDaily`` / ``MessageDaily``, one row per project and day, kept equal to
the sum of their hours by ``analytics.rollup``); only the ragged hours left at the edges of
buckets are read from the hour tables. For a viewer in UTC a year is 366 day rows per
project and no hour rows; in a zone off UTC a day bucket never holds a whole UTC day, so day
charts there read hours (a year of days is allowed) while week buckets read 6 days and 24 hours each.

Publishing rows are per project, hour (or day) and network (issue 19): every series query
also groups by the network, so one query gives the totals (summed here) and each network's
series together, and a network filter is one more condition on the same index ranges.

Local days are computed without time zone tables (MySQL needs them for CONVERT_TZ): the
zone's UTC offsets over the range are known in Python, so the day is
``floor((hours since 1970 * 3600 + offset) / 86400)`` with the offset as a CASE on the hour.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property, reduce
from itertools import pairwise
from operator import or_

from django.conf import settings
from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Floor
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.aggregate import EPOCH, HOUR, MESSAGE_FIELDS, POST_STATUS_FIELDS, PUBLISHING_FIELDS, HoursSinceEpoch
from analytics.models import AnalyticsDaily, AnalyticsHourly, MessageDaily, MessageHourly
from cradle_site import dates
from publishing.models import Network

HOURLY_MAX_DAYS = 31
# ``auto``: hours up to 3 days, days up to this many, weeks beyond.
AUTO_DAY_MAX_DAYS = 92
INTERVALS = ("hour", "day", "week")
PUBLISHING_COUNTS = [name for name in PUBLISHING_FIELDS if name != "avg_duration"]
DAY = timedelta(days=1)


class RangeError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class SeriesRange:
    first_day: date
    last_day: date  # inclusive
    interval: str  # "hour", "day" or "week"
    tz: tzinfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=self.tz).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + DAY, time(), tzinfo=self.tz).astimezone(UTC)

    @cached_property
    def _local_days(self) -> list[date]:
        """The local days buckets start on: every day, or the first day and each Monday after it."""
        days = [self.first_day + timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]
        if self.interval == "week":
            days = [day for day in days if day == self.first_day or day.weekday() == 0]
        return days

    def buckets(self) -> list[datetime]:
        """Bucket starts: UTC hours, or local midnights (aware, in ``tz``)."""
        if self.interval == "hour":
            count = int((self.end - self.start).total_seconds() // 3600)
            return [self.start + timedelta(hours=i) for i in range(count)]
        return [datetime.combine(day, time(), tzinfo=self.tz) for day in self._local_days]

    def bucket_spans(self) -> list[tuple[datetime, datetime]]:
        """Each bucket as [start, end) in UTC."""
        starts = [bucket.astimezone(UTC) for bucket in self.buckets()]
        return list(zip(starts, [*starts[1:], self.end], strict=True))

    def bucket_of(self, hour: datetime) -> datetime:
        if self.interval == "hour":
            # Hour buckets start at local midnight. In a zone a fraction of an hour off UTC
            # (India +5:30, Nepal +5:45) they are not UTC hours: the row goes to the bucket
            # its UTC hour starts in, instead of matching none and leaving the chart empty.
            return self.start + timedelta(hours=(hour - self.start) // timedelta(hours=1))
        return self.bucket_of_day(hour.astimezone(self.tz).date())

    def bucket_of_day(self, local_day: date) -> datetime:
        """The day or week bucket a local day falls in (days outside the range: the nearest end's)."""
        days = self._local_days
        index = max(0, bisect.bisect_right(days, local_day) - 1)
        return datetime.combine(days[index], time(), tzinfo=self.tz)

    def label(self, bucket: datetime) -> str:
        local = bucket.astimezone(self.tz)
        return local.strftime("%m-%d %H:00") if self.interval == "hour" else local.strftime("%Y-%m-%d")


def series_range(
    *, first_day: date | None, last_day: date | None, interval: str = "auto", tz: tzinfo | None = None
) -> SeriesRange:
    """Validate a requested range; raise RangeError(field, reason) for a bad one.

    Defaults: the last 7 days up to today. ``auto`` picks hours for up to 3 days, days for up
    to ``AUTO_DAY_MAX_DAYS``, else weeks.
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
        interval = "hour" if span <= 3 else "day" if span <= AUTO_DAY_MAX_DAYS else "week"
    if interval not in INTERVALS:
        raise RangeError("interval", _("Choose hour, day or week."))
    limit = HOURLY_MAX_DAYS if interval == "hour" else settings.ANALYTICS_MAX_RANGE_DAYS
    if span > limit:
        raise RangeError("from", _("The range may span at most %(days)d days for this interval.") % {"days": limit})
    return SeriesRange(first_day=first_day, last_day=last_day, interval=interval, tz=tz)


@dataclass(frozen=True)
class Coverage:
    """Which parts of a range each table serves: UTC days (inclusive runs) and hour spans."""

    day_runs: list[tuple[date, date]]
    hour_spans: list[tuple[datetime, datetime]]


def _ceil_day(moment: datetime) -> datetime:
    floored = datetime.combine(moment.date(), time(), tzinfo=UTC)
    return floored if floored == moment else floored + DAY


def _floor_day(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(), tzinfo=UTC)


def coverage(spans: list[tuple[datetime, datetime]]) -> Coverage:
    """The coverage rule for buckets ``spans`` (UTC, [start, end)): whole UTC days inside a
    bucket from the day table, the rest of each bucket from the hour table."""
    day_runs: list[tuple[date, date]] = []
    hour_spans: list[tuple[datetime, datetime]] = []

    def add_hours(start: datetime, end: datetime) -> None:
        if start >= end:
            return
        if hour_spans and hour_spans[-1][1] == start:
            hour_spans[-1] = (hour_spans[-1][0], end)
        else:
            hour_spans.append((start, end))

    for start, end in spans:
        first, last = _ceil_day(start), _floor_day(end)
        if first >= last:
            add_hours(start, end)
            continue
        add_hours(start, first)
        run = (first.date(), (last - DAY).date())
        if day_runs and day_runs[-1][1] + DAY == run[0]:
            day_runs[-1] = (day_runs[-1][0], run[1])
        else:
            day_runs.append(run)
        add_hours(last, end)
    return Coverage(day_runs=day_runs, hour_spans=hour_spans)


def _any(conditions: list[Q]) -> Q:
    return reduce(or_, conditions)


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


def _summed(rng: SeriesRange, hourly, daily, sums: dict, by: tuple[str, ...] = ()) -> list[tuple[datetime, dict]]:
    """``(bucket start, {name: sum})`` per hour, local day or week (and per ``by`` column),
    summed by the database: one query on the day table and one on the hour table, each only
    where coverage sends it."""
    if rng.interval == "hour":
        rows = hourly.filter(hour_timestamp__gte=rng.start, hour_timestamp__lt=rng.end)
        rows = rows.values("hour_timestamp", *by).annotate(**sums).order_by("hour_timestamp")
        return [(rng.bucket_of(row.pop("hour_timestamp").astimezone(UTC)), row) for row in rows]
    cover = coverage(rng.bucket_spans())
    out: list[tuple[datetime, dict]] = []
    if cover.day_runs:
        rows = daily.filter(_any([Q(day__gte=first, day__lte=last) for first, last in cover.day_runs]))
        # A whole UTC day lies inside one bucket, so its UTC midnight names the bucket.
        for row in rows.values("day", *by).annotate(**sums).order_by("day"):
            out.append((rng.bucket_of(datetime.combine(row.pop("day"), time(), tzinfo=UTC)), row))
    if cover.hour_spans:
        rows = hourly.filter(
            _any([Q(hour_timestamp__gte=start, hour_timestamp__lt=end) for start, end in cover.hour_spans])
        )
        rows = rows.annotate(local_day=_local_day(rng)).values("local_day", *by).annotate(**sums).order_by("local_day")
        first = EPOCH.date()
        for row in rows:
            out.append((rng.bucket_of_day(first + timedelta(days=int(row.pop("local_day")))), row))
    return out


def _fill(rng: SeriesRange, summed: list[tuple[datetime, dict]], fields: list[str]) -> list[dict]:
    points = {bucket: {"start": bucket, **dict.fromkeys(fields, 0)} for bucket in rng.buckets()}
    for bucket, row in summed:
        point = points.get(bucket)
        if point is None:
            continue
        for name, value in row.items():
            point[name] = point.get(name, 0) + (value or 0)
    return list(points.values())


def _with_mean(counts: dict) -> dict:
    total = counts.pop("duration_total")
    counts["avg_duration"] = round(total / counts["posts_success"], 3) if counts["posts_success"] else None
    return counts


def publishing_series(*, user, rng: SeriesRange, project=None, network: str | None = None) -> list[dict]:
    """Posts by outcome, failure kinds and mean duration per bucket, for one project or all,
    on every network or on ``network`` alone.

    Each point also holds ``networks``: the same figures per network (every network, zeros
    where it had none; with a ``network`` filter, the others are all zeros), from the same
    queries: the totals are their sums.
    """
    hourly, daily = AnalyticsHourly.objects.owned_by(user), AnalyticsDaily.objects.owned_by(user)
    if project is not None:
        hourly, daily = hourly.filter(project=project), daily.filter(project=project)
    if network is not None:
        hourly, daily = hourly.filter(network=network), daily.filter(network=network)
    # Duration is a mean per hour (or day): weight it by the successes to combine them.
    # (First, so F("posts_success") means the column, not the Sum annotation of that name.)
    sums = {"duration_total": Sum(F("avg_duration") * F("posts_success"))}
    sums.update({name: Sum(name) for name in PUBLISHING_COUNTS})
    fields = [*PUBLISHING_COUNTS, "duration_total"]
    summed = _summed(rng, hourly, daily, sums, by=("network",))
    points = _fill(rng, [(bucket, {k: v for k, v in row.items() if k != "network"}) for bucket, row in summed], fields)
    per_network = {bucket: {net: dict.fromkeys(fields, 0) for net in Network.values} for bucket in rng.buckets()}
    for bucket, row in summed:
        counts = per_network.get(bucket, {}).get(row["network"])
        if counts is None:
            continue
        for name in fields:
            counts[name] += row[name] or 0
    for point in points:
        _with_mean(point)
        point["networks"] = {net: _with_mean(counts) for net, counts in per_network[point["start"]].items()}
    return points


def message_series(*, user, rng: SeriesRange) -> list[dict]:
    hourly, daily = MessageHourly.objects.owned_by(user), MessageDaily.objects.owned_by(user)
    return _fill(rng, _summed(rng, hourly, daily, {name: Sum(name) for name in MESSAGE_FIELDS}), MESSAGE_FIELDS)


def project_totals(*, user, rng: SeriesRange, network: str | None = None) -> list[dict]:
    """Every project of ``user`` with its totals in the range (on ``network`` alone if given),
    keyed by log status: the range's whole UTC days from the day table, its ragged edges from
    the hour table (up to three queries)."""
    from publishing.models import Project

    sums = {status.value: Sum(column) for status, column in POST_STATUS_FIELDS.items()}
    cover = coverage([(rng.start, rng.end)])
    parts = []
    if cover.day_runs:
        days = _any([Q(day__gte=first, day__lte=last) for first, last in cover.day_runs])
        parts.append(AnalyticsDaily.objects.owned_by(user).filter(days))
    if cover.hour_spans:
        hours = _any([Q(hour_timestamp__gte=start, hour_timestamp__lt=end) for start, end in cover.hour_spans])
        parts.append(AnalyticsHourly.objects.owned_by(user).filter(hours))
    if network is not None:
        parts = [part.filter(network=network) for part in parts]
    zero = {status.value: 0 for status in POST_STATUS_FIELDS}
    by_project: dict[int, dict] = {}
    for part in parts:
        for row in part.values("project_id").annotate(**sums).order_by():
            totals = by_project.setdefault(row.pop("project_id"), dict(zero))
            for name, value in row.items():
                totals[name] += value or 0
    return [
        {"project": project, **by_project.get(project.pk, zero)}
        for project in Project.objects.owned_by(user).order_by("name")
    ]
