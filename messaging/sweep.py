"""The escalation sweep: claim due messages in batches and move each one step.

Safe with several workers at once. Each batch runs in one transaction that first claims
its rows with ``cradle_site.leases.skip_locked`` (a second worker skips rows the first
holds and takes the next ones; on SQLite the transaction's write lock keeps workers
apart). A step is done inside that transaction, so it needs no lease of its own. Every
UPDATE also repeats the due condition (state, level, next date), so a row another worker
or an answer has moved since is left alone.

Fast by construction: a batch is advanced with one UPDATE per (ladder, warning level) present
(at most six per ladder: ``messaging.ladder``; rows on the seed's ladder form one ladder
whatever their initial delay, which is not read past level 0), each followed by one ``INSERT ... SELECT`` that writes the WARNING_n logs of
those rows on the server (measured on MariaDB: 5x faster than ``bulk_create``, which spends
~60 us per row preparing values that are the same for the whole group); the warning e-mail is
queued by that same UPDATE (``warning_email_due_at``), sent after commit by
``messaging.notices``. Batches walk the sweep index with a keyset cursor, so a batch never
rescans the index entries the previous batches just moved.
The next step is timed from *now* - when this warning is actually sent - so after an
outage the owner still gets every warning and every interval before delivery. A message
whose pause is in force is never due (``Message.objects.due``), and every UPDATE repeats that.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cradle_site import leases
from messaging import history, ladder
from messaging.models import Delivery, Message, Recipient, StatusLog

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    batches: int = 0
    warned: dict[int, int] = field(default_factory=dict)  # level -> messages warned
    delivering: int = 0

    @property
    def advanced(self) -> int:
        return sum(self.warned.values()) + self.delivering


def sweep_due(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> SweepResult:
    """Advance every message due at ``now``, batch by batch, until none is left."""
    now = now or timezone.now()
    batch_size = batch_size or settings.MESSAGING_SWEEP_BATCH_SIZE
    result = SweepResult()
    cursor: tuple[datetime, int] | None = None
    while max_batches is None or result.batches < max_batches:
        claimed, cursor = sweep_batch(now=now, batch_size=batch_size, result=result, after=cursor)
        if claimed == 0:
            break
        result.batches += 1
    return result


Row = tuple[int, int, datetime, list | None]  # id, level, next step, ladder seconds


def _claim(now: datetime, batch_size: int, after: tuple[datetime, int] | None) -> list[Row]:
    queryset = Message.objects.due(now)
    if after is not None:
        # Keyset: continue where the last batch stopped (rows it skipped as locked belong to
        # another worker, which advances them).
        queryset = queryset.filter(Q(next_warning_date__gt=after[0]) | Q(next_warning_date=after[0], id__gt=after[1]))
    queryset = leases.skip_locked(queryset.order_by("next_warning_date", "id"))
    return list(queryset.values_list("id", "warning_level", "next_warning_date", "ladder_seconds")[:batch_size])


def sweep_batch(
    *, now: datetime, batch_size: int, result: SweepResult | None = None, after: tuple[datetime, int] | None = None
) -> tuple[int, tuple[datetime, int] | None]:
    """Claim and advance up to ``batch_size`` due messages; return (claimed, cursor for the next batch)."""
    result = result if result is not None else SweepResult()
    with transaction.atomic():
        rows = _claim(now, batch_size, after)
        if not rows:
            return 0, after
        groups: dict[tuple[tuple[int, ...] | None, int], list[int]] = defaultdict(list)
        for message_id, level, _at, seconds in rows:
            groups[(tuple(seconds) if seconds else None, level)].append(message_id)
        logs: list[StatusLog] = []
        for (key, level), ids in sorted(groups.items(), key=lambda item: (item[0][0] or (), item[0][1])):
            steps = ladder.Ladder.from_seconds(list(key)) if key else ladder.seed_ladder(1)
            if level < steps.warnings:
                _warn(ids, level, steps.interval_after(level + 1), now, logs, result)
            else:
                _start_delivery(ids, level, now, logs, result)
        if logs:
            StatusLog.objects.bulk_create(logs)
    last = rows[-1]
    return len(rows), (last[2], last[0])


def _advance(ids: list[int], level: int, now: datetime, **changes) -> int:
    updated = (
        Message.objects.filter(id__in=ids, state=Message.State.ACTIVE, warning_level=level, next_warning_date__lte=now)
        .filter(Q(paused_until__isnull=True) | Q(paused_until__lte=now))
        .update(**changes)
    )
    if updated != len(ids):
        # Cannot happen while the claim holds (row locks / the SQLite write lock); say so if it does.
        log.warning("sweep: claimed %d messages at level %d but advanced %d", len(ids), level, updated)
    return updated


def _warn(ids: list[int], level: int, interval: timedelta, now: datetime, logs: list, result: SweepResult) -> None:
    new_level = level + 1
    next_at = now + interval
    _advance(
        ids,
        level,
        now,
        warning_level=new_level,
        last_warning_at=now,
        next_warning_date=next_at,
        updated_at=now,
        # Queue the warning e-mail in the same statement (sent by messaging.notices).
        warning_email_due_at=now,
        warning_email_attempts=0,
        warning_email_error="",
    )
    _insert_logs(ids, new_level, now=now, fields=history.warning_sent(level=new_level, next_step_at=next_at))
    result.warned[new_level] = result.warned.get(new_level, 0) + len(ids)


def _insert_logs(ids: list[int], level: int, *, now: datetime, fields: history.LogFields) -> None:
    """One StatusLog per message in ``ids`` now at ``level``, written by the database itself.

    Every row of the group gets the same ``fields`` (status, details, data, response): they
    are bound once as parameters, ``data`` encoded by the JSONField itself (a JSON string on
    SQLite and MariaDB alike, where the column is LONGTEXT with a JSON_VALID check).
    """
    qn = connection.ops.quote_name
    log_meta, msg_meta = StatusLog._meta, Message._meta
    names = ("status", "details", "data", "response")
    columns = ", ".join(qn(log_meta.get_field(name).column) for name in ("message", "created_at", *names))
    values = ", ".join(["%s"] * (1 + len(names)))
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"INSERT INTO {qn(log_meta.db_table)} ({columns}) "
        f"SELECT {qn(msg_meta.pk.column)}, {values} FROM {qn(msg_meta.db_table)} "
        f"WHERE {qn(msg_meta.get_field('warning_level').column)} = %s AND {qn(msg_meta.pk.column)} IN ({placeholders})"
    )
    created_at = connection.ops.adapt_datetimefield_value(now)
    row = [log_meta.get_field(name).get_db_prep_save(fields[name], connection) for name in names]
    with connection.cursor() as cursor:
        cursor.execute(sql, [created_at, *row, level, *ids])


def _one_per_address(ids: list[int]) -> list[tuple[int, int]]:
    """(recipient id, message id) of each message's recipients, the first row per address only.

    The services refuse a second recipient with the same address; a row that reached the
    table some other way (written before that rule, or by hand) must still not make the
    address get the message twice.
    """
    rows = Recipient.objects.filter(message_id__in=ids).order_by("id")
    seen: set[tuple[int, str]] = set()
    pairs = []
    # By the keyed hash of the normalised address (messaging.contacts.contact_hash): the same
    # comparison as contact_key, without decrypting every recipient's contact.
    for recipient_id, message_id, address in rows.values_list("id", "message_id", "contact_hash"):
        key = (message_id, address or f"row:{recipient_id}")
        if key not in seen:
            seen.add(key)
            pairs.append((recipient_id, message_id))
    return pairs


def _start_delivery(ids: list[int], level: int, now: datetime, logs: list, result: SweepResult) -> None:
    """The final warning (``level``, the ladder's last) went unanswered: queue one delivery per recipient."""
    _advance(ids, level, now, state=Message.State.DELIVERING, is_active=False, updated_at=now)
    pairs = _one_per_address(ids)
    # ignore_conflicts: the recipient column is unique, so a delivery row can exist only once.
    Delivery.objects.bulk_create(
        [Delivery(recipient_id=r, message_id=m, next_attempt_at=now, created_at=now) for r, m in pairs],
        ignore_conflicts=True,
    )
    without = set(ids) - {m for _r, m in pairs}
    if without:
        # Nothing to send: the ladder is over; say so rather than leave it "delivering".
        Message.objects.filter(id__in=without).update(state=Message.State.DELIVERED, delivered_at=now)
        fields = history.delivered(recipients=0, actor=history.SWEEP)
        logs.extend(StatusLog(message_id=i, created_at=now, **fields) for i in without)
    result.delivering += len(ids)
