"""Day roll-ups: ``AnalyticsDaily`` and ``MessageDaily`` as the sums of the hour rows.

A day row is never added to: it is recomputed from its 24 hour rows, by
``analytics.aggregate.hourly_aggregate`` in the same transaction that rewrites those hours,
so re-aggregating an hour corrects its day, and running it twice changes nothing. The hour
rows of the days being recomputed are read with a locking read first (``FOR UPDATE``): a
concurrent aggregation of other hours of the same day then waits for this one to commit
instead of summing hours it has not seen (a deadlock between the two is retried by the
caller, as the hour upserts already are).

``rebuild`` fills the days from the hours in batches of days, each batch its own
transaction: the migration that adds the tables runs it, and so can an operator after
writing hour rows by other means (the benchmark's data set does).

The functions take the models as arguments so the migration can pass its historical ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import F, Max, Min, Sum
from django.db.models.functions import Floor

from analytics.aggregate import EPOCH, MESSAGE_FIELDS, PUBLISHING_FIELDS, HoursSinceEpoch

_BATCH_DAYS = 31
_OWNER_CHUNK = 1000
_UPSERT_BATCH = 1000


@dataclass(frozen=True)
class Rollup:
    hourly: type
    daily: type
    owner: str  # "project" or "user"
    fields: tuple[str, ...]
    dims: tuple[str, ...] = ()  # kept apart within an owner's day: the publishing rows' network

    @property
    def counts(self) -> list[str]:
        return [name for name in self.fields if name != "avg_duration"]


def rollups(apps=None) -> list[Rollup]:
    """The two roll-ups, with the live models or a migration's historical ones."""
    if apps is None:
        from django.apps import apps
    get = apps.get_model
    hourly = get("analytics", "AnalyticsHourly")
    # Migration 0003's historical models predate the network (0004): their days are per project.
    dims = ("network",) if any(f.name == "network" for f in hourly._meta.concrete_fields) else ()
    return [
        Rollup(hourly, get("analytics", "AnalyticsDaily"), "project", tuple(PUBLISHING_FIELDS), dims),
        Rollup(get("analytics", "MessageHourly"), get("analytics", "MessageDaily"), "user", tuple(MESSAGE_FIELDS)),
    ]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _sums(spec: Rollup) -> dict:
    sums = {}
    if "avg_duration" in spec.fields:
        # A mean per hour: weighted by the successes to combine hours. First, so that
        # F("posts_success") is the column, not the Sum annotation of the same name.
        sums["duration_total"] = Sum(F("avg_duration") * F("posts_success"))
    sums.update({name: Sum(name) for name in spec.counts})
    return sums


def _chunks(ids: list[int] | None) -> Iterable[list[int] | None]:
    if ids is None:
        yield None
        return
    for start in range(0, len(ids), _OWNER_CHUNK):
        yield ids[start : start + _OWNER_CHUNK]


def roll_up_days(spec: Rollup, first_day: date, last_day: date, *, owner_ids: Iterable[int] | None = None) -> int:
    """Rewrite the day rows of [first_day, last_day] (UTC, inclusive) from their hour rows,
    for ``owner_ids`` (projects or users) or every owner. Call inside a transaction. Rows written."""
    ids = None if owner_ids is None else sorted(set(owner_ids))
    written = 0
    for chunk in _chunks(ids):
        written += _roll_up(spec, first_day, last_day, chunk)
    return written


def _roll_up(spec: Rollup, first_day: date, last_day: date, ids: list[int] | None) -> int:
    owner_id = f"{spec.owner}_id"
    hours = spec.hourly._base_manager.filter(
        hour_timestamp__gte=day_start(first_day), hour_timestamp__lt=day_start(last_day + timedelta(days=1))
    )
    days = spec.daily._base_manager.filter(day__gte=first_day, day__lte=last_day)
    if ids is not None:
        hours = hours.filter(**{f"{owner_id}__in": ids})
        days = days.filter(**{f"{owner_id}__in": ids})
    if connection.features.has_select_for_update:
        list(hours.order_by("pk").select_for_update().values_list("pk", flat=True))
    rows = (
        hours.annotate(day_number=Floor(HoursSinceEpoch("hour_timestamp") / 24))
        .values("day_number", owner_id, *spec.dims)
        .annotate(**_sums(spec))
        .order_by()
    )
    zero = dict.fromkeys(spec.counts, 0)
    if "avg_duration" in spec.fields:
        zero["avg_duration"] = None
    groups: dict[tuple, dict] = {key: dict(zero) for key in days.values_list("day", owner_id, *spec.dims)}
    for row in rows:
        day = EPOCH.date() + timedelta(days=int(row.pop("day_number")))
        key = (day, row.pop(owner_id), *(row.pop(name) for name in spec.dims))
        values = {name: row[name] or 0 for name in spec.counts}
        if "avg_duration" in spec.fields:
            total = row["duration_total"]
            values["avg_duration"] = total / values["posts_success"] if values["posts_success"] and total else None
        groups[key] = values
    # The hour upserts' order (time, then owner): concurrent writers lock rows in one order.
    objects = [
        spec.daily(day=key[0], **{owner_id: key[1]}, **dict(zip(spec.dims, key[2:], strict=True)), **values)
        for key, values in sorted(groups.items())
    ]
    if not objects:
        return 0
    options = {"update_conflicts": True, "update_fields": list(spec.fields), "batch_size": _UPSERT_BATCH}
    if connection.features.supports_update_conflicts_with_target:
        options["unique_fields"] = [spec.owner, "day", *spec.dims]
    spec.daily._base_manager.bulk_create(objects, **options)
    return len(objects)


def rebuild(specs: list[Rollup] | None = None, *, batch_days: int = _BATCH_DAYS) -> int:
    """Every day row from the hour rows, ``batch_days`` at a time (one transaction each), so
    a big hour table is read in short index ranges and no transaction holds many locks."""
    written = 0
    for spec in specs or rollups():
        bounds = spec.hourly._base_manager.aggregate(low=Min("hour_timestamp"), high=Max("hour_timestamp"))
        if bounds["low"] is None:
            continue
        day, last = bounds["low"].astimezone(UTC).date(), bounds["high"].astimezone(UTC).date()
        while day <= last:
            end = min(last, day + timedelta(days=batch_days - 1))
            with transaction.atomic():
                written += roll_up_days(spec, day, end)
            day = end + timedelta(days=1)
    return written
