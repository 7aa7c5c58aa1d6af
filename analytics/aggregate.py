"""Turn log rows into hourly statistics (``hourly_aggregate``).

One GROUP BY per source table computes every (hour, project, network) and (hour, user)
figure in a range; the results are written with upserts (INSERT ... ON CONFLICT / ON DUPLICATE KEY
UPDATE) on the unique (hour, owner[, network]) keys. Each call recomputes its range from the logs,
so running it twice, or two workers at once, leaves the same table: both compute the same
numbers from the same rows and the last upsert wins with identical values. A row already
in the table whose logs have gone (purged, re-dated) is rewritten with zeros.

Hours are UTC, computed as whole hours since 1970 (no time zone tables needed on MySQL);
day charts group them into the viewer's local days in SQL with the same trick (analytics.selectors).

The network of a publishing row is read from the task's account when tasks are mapped to
their projects (the same one query per 5,000 tasks, with a join on the accounts table): a
task with no account is the project's X. The logs stay as they are (no copy of the network
on 100,000 rows an hour), and a project's figures are the sum of its networks' rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Func, IntegerField, Max, Min, Q, Sum
from django.utils import timezone

from analytics.models import AnalyticsHourly, MessageHourly
from cradle_site.retry import retry_on_deadlock
from messaging.models import Message, StatusLog
from publishing.models import Network, PublishingLog, PublishingTask

HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UPSERT_BATCH = 1000

ErrorKind = PublishingLog.ErrorKind
# PublishingLog.status -> AnalyticsHourly column
POST_STATUS_FIELDS = {
    PublishingLog.Status.SUCCESS: "posts_success",
    PublishingLog.Status.FAILED: "posts_failed",
    PublishingLog.Status.SKIPPED: "posts_skipped",
}
# PublishingLog.error_kind of a failed attempt -> AnalyticsHourly column. A failure with no
# kind recorded counts as "other", so the failure columns add up to posts_failed.
FAILURE_FIELDS = {
    ErrorKind.RATE_LIMIT: "failures_rate_limit",
    ErrorKind.AUTH: "failures_auth",
    ErrorKind.DUPLICATE: "failures_duplicate",
    ErrorKind.MEDIA: "failures_media",
    ErrorKind.SERVER: "failures_server",
    ErrorKind.NETWORK: "failures_network",
    ErrorKind.OTHER: "failures_other",
    ErrorKind.NONE: "failures_other",
}
PUBLISHING_FIELDS = [*POST_STATUS_FIELDS.values(), "avg_duration", *dict.fromkeys(FAILURE_FIELDS.values())]
# StatusLog.status -> MessageHourly column
MESSAGE_STATUS_FIELDS = {
    StatusLog.Status.WARNING_1: "warnings_1",
    StatusLog.Status.WARNING_2: "warnings_2",
    StatusLog.Status.WARNING_3: "warnings_3",
    StatusLog.Status.WARNING_4: "warnings_4",
    StatusLog.Status.WARNING_5: "warnings_5",
    StatusLog.Status.WARNING_RESET: "resets",
    StatusLog.Status.CONTINUED: "continues",
    StatusLog.Status.REVOKED: "revocations",
    StatusLog.Status.DELIVERED: "deliveries",
    StatusLog.Status.DELIVERY_FAILED: "delivery_failures",
}
MESSAGE_FIELDS = list(MESSAGE_STATUS_FIELDS.values())
# History rows no chart counts: a pause says when warnings wait, not that something happened
# to a message's ladder (the warnings before and after it are counted as usual); "owner
# unreachable on every channel" explains a warning already counted as WARNING_n (staff are
# told by its StaffAlarm, messaging.escalation); a recipient's delivery page opened, or a new
# link to it sent, comes after a delivery already counted as DELIVERED (messaging.delivery_links);
# a trusted contact's request, its refusal and its grant say why a delivery came early or did
# not come, and the delivery they lead to is counted as DELIVERED (messaging.trusted).
NOT_CHARTED = frozenset(
    {
        StatusLog.Status.PAUSED,
        StatusLog.Status.PAUSE_ENDED,
        StatusLog.Status.OWNER_UNREACHABLE,
        StatusLog.Status.LINK_OPENED,
        StatusLog.Status.LINK_SENT,
        StatusLog.Status.TRUSTED_REQUESTED,
        StatusLog.Status.TRUSTED_REFUSED,
        StatusLog.Status.TRUSTED_GRANTED,
    }
)


@dataclass
class AggregateResult:
    since: datetime
    until: datetime
    log_rows: int = 0
    publishing_rows: int = 0
    message_rows: int = 0
    seconds: float = 0.0


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floored = floor_hour(moment)
    return floored if floored == moment else floored + HOUR


def _utc(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class HoursSinceEpoch(Func):
    """Whole UTC hours since 1970 as an integer: cheaper to compute and group by than a
    truncated datetime (no string formatting per row), and needs no time zone tables."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):
        raise NotImplementedError(f"HoursSinceEpoch is not written for {connection.vendor}")

    def as_mysql(self, compiler, connection, **extra):
        return self.as_sql_template(compiler, connection, "TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', %(expressions)s)")

    def as_sqlite(self, compiler, connection, **extra):
        # %%%% survives both the template's and the backend's %-unescaping as a literal %s.
        return self.as_sql_template(
            compiler, connection, "(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) / 3600)"
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql_template(compiler, connection, "FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / 3600)::bigint")

    def as_sql_template(self, compiler, connection, template):
        return Func.as_sql(self, compiler, connection, template=template)


def _hour(number: int) -> datetime:
    return EPOCH + timedelta(hours=number)


# The key a parent row (a task, a message) is counted under, after the hour: the columns
# read for it and the statistics table's fields they fill.
PUBLISHING_KEY = (("project_id", "account__network"), ("project_id", "network"))
MESSAGE_KEY = (("owner_id",), ("user_id",))


def _owner_map(model, ids: set[int], lookups: tuple[str, ...]) -> dict[int, tuple]:
    """{row id: (owner id[, network])} for the tasks or messages seen, in chunks of ids.

    A task without an account has no network in the join: it is the project's X.
    """
    mapping, ids = {}, sorted(ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for pk, *key in model._base_manager.filter(pk__in=chunk).values_list("pk", *lookups):
            if len(key) == 2:
                key[1] = key[1] or Network.X
            mapping[pk] = tuple(key)
    return mapping


def _in_range(model, column: str, since: datetime, until: datetime):
    """Rows with ``column`` in [since, until), also bounded by their primary-key range.

    The key bounds come from the time index alone (an index-only scan). They let MySQL read
    the rows as one clustered range instead of 100,000 secondary-index lookups, about 3x
    faster; logs are written roughly in time order so the key range is tight. The time
    condition stays, so rows inside the key range but outside the hours are never counted.
    """
    rows = model._base_manager.filter(**{f"{column}__gte": since, f"{column}__lt": until})
    bounds = rows.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return None
    return rows.filter(pk__gte=bounds["low"], pk__lte=bounds["high"])


def _publishing_groups(since: datetime, until: datetime) -> tuple[dict, int]:
    success = Q(status=PublishingLog.Status.SUCCESS)
    counts = {column: Count("id", filter=Q(status=status)) for status, column in POST_STATUS_FIELDS.items()}
    counts["duration_sum"] = Sum("duration_seconds", filter=success)
    kinds_of: dict[str, list[str]] = {}
    for kind, column in FAILURE_FIELDS.items():
        kinds_of.setdefault(column, []).append(kind)
    failed = Q(status=PublishingLog.Status.FAILED)
    for column, kinds in kinds_of.items():
        counts[column] = Count("id", filter=failed & Q(error_kind__in=kinds))
    # Grouped by task, not project: joining the tasks table for 100,000 rows an hour costs
    # more than the whole GROUP BY; tasks are mapped to projects afterwards in one query.
    groups, total = _grouped(
        PublishingLog, "published_at", "task_id", PublishingTask, PUBLISHING_KEY[0], counts, since=since, until=until
    )
    for group in groups.values():
        duration = group.pop("duration_sum")
        group["avg_duration"] = duration / group["posts_success"] if group["posts_success"] else None
    return groups, total


def _message_groups(since: datetime, until: datetime) -> tuple[dict, int]:
    counts = {column: Count("id", filter=Q(status=status)) for status, column in MESSAGE_STATUS_FIELDS.items()}
    return _grouped(StatusLog, "created_at", "message_id", Message, MESSAGE_KEY[0], counts, since=since, until=until)


def _grouped(
    log_model, time_column: str, parent_column: str, parent_model, owner_lookups: tuple, counts: dict, *, since, until
) -> tuple[dict, int]:
    """Count ``log_model`` rows per (hour, parent) on the server, then fold parents into
    their owners (project and network, or user) here: {(hour, *owner key): {column: value}}, rows read."""
    logs = _in_range(log_model, time_column, since, until)
    if logs is None:
        return {}, 0
    rows = list(
        logs.annotate(hour=HoursSinceEpoch(time_column))
        .values("hour", parent_column)
        .annotate(total=Count("id"), **counts)
        .order_by()
    )
    owners = _owner_map(parent_model, {row[parent_column] for row in rows}, owner_lookups)
    groups: dict = {}
    total = 0
    for row in rows:
        total += row.pop("total")
        key = (_hour(row.pop("hour")), *owners[row.pop(parent_column)])
        group = groups.setdefault(key, dict.fromkeys(row, 0))
        for name, value in row.items():
            group[name] += value or 0
    return groups, total


def _zero(fields: list[str]) -> dict:
    return {name: (None if name == "avg_duration" else 0) for name in fields}


def _upsert(
    model, groups: dict, *, key_fields: tuple[str, ...], fields: list[str], since: datetime, until: datetime
) -> tuple[int, set[int]]:
    """Write the hour rows of [since, until): (rows written, the owners — projects or users — written).

    ``groups`` is keyed by (hour, *values of ``key_fields``): the owner's id first, then the
    network for publishing.
    """
    existing = model._base_manager.filter(hour_timestamp__gte=since, hour_timestamp__lt=until).values_list(
        "hour_timestamp", *key_fields
    )
    zero = _zero(fields)
    for hour, *key in existing:
        groups.setdefault((_utc(hour), *key), zero)
    # A fixed order makes concurrent upserts take row locks in the same order (no deadlock cycles).
    objects = [
        model(hour_timestamp=key[0], **dict(zip(key_fields, key[1:], strict=True)), **values)
        for key, values in sorted(groups.items(), key=lambda item: item[0])
    ]
    if not objects:
        return 0, set()
    options = {"update_conflicts": True, "update_fields": fields, "batch_size": _UPSERT_BATCH}
    if connection.features.supports_update_conflicts_with_target:
        options["unique_fields"] = ["hour_timestamp", *(name.removesuffix("_id") for name in key_fields)]
    model._base_manager.bulk_create(objects, **options)
    return len(objects), {key[1] for key in groups}


def hourly_aggregate(*, since: datetime, until: datetime) -> AggregateResult:
    """Recompute every statistics row for the UTC hours that overlap [since, until)."""
    started = time.perf_counter()
    since, until = floor_hour(since), ceil_hour(until)
    result = AggregateResult(since=since, until=until)
    if until <= since:
        return result
    publishing, publishing_logs = _publishing_groups(since, until)
    messages, message_logs = _message_groups(since, until)
    result.log_rows = publishing_logs + message_logs

    def upsert_both() -> None:
        # One transaction for both tables and their day roll-ups; concurrent recomputes of
        # the same hours may deadlock on MariaDB, and the upsert is idempotent, so the loser
        # simply runs again.
        from analytics import rollup  # here: rollup imports this module

        first_day, last_day = since.date(), (until - timedelta(microseconds=1)).date()
        publishing_spec, message_spec = rollup.rollups()
        with transaction.atomic():
            result.publishing_rows, projects = _upsert(
                AnalyticsHourly,
                dict(publishing),
                key_fields=PUBLISHING_KEY[1],
                fields=PUBLISHING_FIELDS,
                since=since,
                until=until,
            )
            result.message_rows, users = _upsert(
                MessageHourly,
                dict(messages),
                key_fields=MESSAGE_KEY[1],
                fields=MESSAGE_FIELDS,
                since=since,
                until=until,
            )
            if projects:
                rollup.roll_up_days(publishing_spec, first_day, last_day, owner_ids=projects)
            if users:
                rollup.roll_up_days(message_spec, first_day, last_day, owner_ids=users)

    retry_on_deadlock(upsert_both)
    result.seconds = time.perf_counter() - started
    return result


def aggregate_recent(*, now: datetime | None = None, hours: int | None = None) -> AggregateResult:
    """The hourly job: the current hour and the last few, so logs written late still count."""
    now = now or timezone.now()
    hours = hours if hours is not None else settings.ANALYTICS_RECOMPUTE_HOURS
    return hourly_aggregate(since=floor_hour(now) - hours * HOUR, until=ceil_hour(now + timedelta(microseconds=1)))


def backfill(
    *, since: datetime, until: datetime, progress: Callable[[AggregateResult], None] | None = None
) -> AggregateResult:
    """Recompute a long range one UTC day at a time, so each GROUP BY stays small."""
    since, until = floor_hour(since), ceil_hour(until)
    total = AggregateResult(since=since, until=until)
    started = time.perf_counter()
    cursor = since
    while cursor < until:
        end = min(until, (cursor + timedelta(days=1)).replace(hour=0))
        part = hourly_aggregate(since=cursor, until=end)
        total.log_rows += part.log_rows
        total.publishing_rows += part.publishing_rows
        total.message_rows += part.message_rows
        total.seconds = time.perf_counter() - started
        if progress:
            progress(part)
        cursor = end
    return total
