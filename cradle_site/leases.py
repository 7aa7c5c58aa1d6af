"""How a job claims rows to work on, holds them while it works, and lets them go.

Every job that several workers (on several machines) may run at once - sending deliveries,
sending the staff alarms, publishing tasks - takes its rows the same way:

1. **Take back** rows whose holder's lease ran out (the worker died, or stalled past its
   lease): they return to the free state, with ``on_expiry`` set on them (publishing flags
   ``maybe_posted``: a dead worker may have reached X before it died).
2. **Claim**: in one short transaction, select due free rows with ``SELECT ... FOR UPDATE
   SKIP LOCKED`` where the database has it (MariaDB, MySQL 8, PostgreSQL: a second worker
   skips the rows the first holds, and neither waits), then move them to the held state
   with a lease, by an UPDATE that repeats "still free". SQLite has no row locks; there the
   transaction takes the single write lock at BEGIN (``transaction_mode=IMMEDIATE``, see
   ``cradle_site.env``), and the conditional UPDATE is the guard.
3. **Hold**: right before each send, renew that one row's lease with a compare-and-set on
   the lease this worker holds. A batch can outlast its lease (a slow relay, webhooks that
   time out), and then another worker may have taken a row back; whoever took it wrote a
   lease of its own, so exactly one of the two renews it and sends. The compare-and-set
   locks the row by primary key first and compares in Python (``compare_and_set``): an
   UPDATE that named the lease in its WHERE locked a secondary-index entry before the row
   and deadlocked with the answers, which lock the row first. Row first, everywhere.
4. **Release**: the UPDATE that ends the work (sent, failed, back to the queue) clears the
   lease in the same statement (``Lease.released``). A job whose time budget runs out gives
   the rows it claimed and did not start back at once (``Lease.give_back``), rather than
   leaving them to wait for the lease.

The sends themselves happen after the claim's commit, outside any transaction, so no row
lock is held while waiting on the network.

The one exception is the warning e-mail outbox, three columns on ``Message`` written by the
sweep's own UPDATE (a separate row per warning costs the sweep an insert per message; see
``messaging.models``). It has no state column: its due time doubles as its lease. It uses
``skip_locked`` and ``renew`` from here, so it is claimed and held the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from cradle_site.retry import retry_on_deadlock


def skip_locked(queryset: models.QuerySet) -> models.QuerySet:
    """``queryset`` locked for a claim: FOR UPDATE SKIP LOCKED where the database has it.

    Call it inside the claim's transaction. Without row locks (SQLite) the queryset is
    returned as it is: there the transaction's write lock already keeps claims apart.
    """
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def lease_end(seconds: int, *, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=seconds)


def compare_and_set(model: type[models.Model], *, pk: Any, expect: Mapping[str, Any], **changes: Any) -> bool:
    """Write ``changes`` on one row only while its columns still hold ``expect``; False when they do not.

    Row first, in one short transaction: lock the row by primary key (``SELECT ... FOR
    UPDATE``), compare in Python, then UPDATE by primary key. The obvious single statement,
    ``UPDATE ... WHERE id = ? AND lease = ? AND state = ?``, is planned by MariaDB through
    the secondary index on those columns (``msg_sweep_outbox_idx``): it locks that index
    entry, then waits for the row. An answer (``messaging.services``) locks the row first and
    then needs the same index entry to write its new state, so the two deadlocked (InnoDB
    1213; tests/messaging/test_answer_locks.py). Locking the row by its primary key takes no
    secondary-index lock before the row's, so every writer queues on the row, in one order.
    On SQLite the transaction's write lock (taken at BEGIN) makes the read and write one step.
    """
    manager = model._default_manager
    with transaction.atomic():
        current = manager.select_for_update().filter(pk=pk).values("pk", *expect).first()
        if current is None or any(current[name] != value for name, value in expect.items()):
            return False
        manager.filter(pk=pk).update(**changes)
    return True


def renew(
    model: type[models.Model],
    *,
    pk: Any,
    field: str,
    held: datetime,
    seconds: int,
    now: datetime | None = None,
    expect: Mapping[str, Any] | None = None,
    **changes: Any,
) -> datetime | None:
    """Compare-and-set: move ``field`` of row ``pk`` from the lease we hold to a fresh one.

    ``expect`` names other columns the row must still hold (its state, its level). Returns
    the new lease, or None when the row no longer carries our lease: somebody answered,
    cancelled, or took it back meanwhile. Row first (``compare_and_set``), so a renewal
    never deadlocks with an answer that holds the row.
    """
    renewed = lease_end(seconds, now=now)
    held_now = compare_and_set(model, pk=pk, expect={**(expect or {}), field: held}, **{field: renewed}, **changes)
    return renewed if held_now else None


@dataclass(frozen=True)
class Claim:
    ids: list[int]  # in the claim's order
    lease_until: datetime
    taken_back: int  # rows freed from a worker whose lease had run out


@dataclass(frozen=True)
class Lease:
    """The claim shape of one model: its state column, free and held states, due and lease columns."""

    model: type[models.Model]
    state_field: str
    free: str
    held: str
    due_field: str
    lease_field: str
    seconds_setting: str
    order_by: tuple[str, ...]
    # Columns written on rows taken back from a holder whose lease ran out, given the time.
    on_expiry: Callable[[datetime], Mapping[str, Any]] | None = None
    # Other columns that only mean something while a row is held, with their empty values
    # (publishing: who holds it and since when).
    holder_fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> int:
        return getattr(settings, self.seconds_setting)

    def take_back(self, *, now: datetime, limit: int = 1000) -> int:
        """Free up to ``limit`` rows whose lease ran out; return how many.

        The expired rows are found by a plain read (no locks), then freed by primary key with
        the condition repeated. An UPDATE that ranged over the lease index instead would
        lock its gaps on MariaDB, and a concurrent claim writing a new lease into that index
        would deadlock with it (seen with four publishing workers).
        """
        manager = self.model._default_manager
        expired = {self.state_field: self.held, f"{self.lease_field}__lt": now}
        ids = list(manager.filter(**expired).order_by("pk").values_list("pk", flat=True)[:limit])
        if not ids:
            return 0
        extra = self.on_expiry(now) if self.on_expiry else {}
        return manager.filter(pk__in=ids, **expired).update(**self.released(**{self.state_field: self.free}, **extra))

    def claim(self, queryset: models.QuerySet, *, now: datetime, limit: int, **changes: Any) -> Claim:
        """Take back expired leases, then hold up to ``limit`` due rows of ``queryset``.

        ``queryset`` narrows which rows this job may take (for example only deliveries of
        messages still being delivered); ``changes`` are written on the claimed rows along
        with the held state and the lease.
        """
        taken_back = retry_on_deadlock(lambda: self.take_back(now=now))
        lease_until = lease_end(self.seconds, now=now)
        due = queryset.filter(**{self.state_field: self.free, f"{self.due_field}__lte": now})

        def hold_due() -> list[int]:
            with transaction.atomic():
                ids = list(skip_locked(due).order_by(*self.order_by).values_list("pk", flat=True)[:limit])
                if not ids:
                    return []
                held = {self.state_field: self.held, self.lease_field: lease_until}
                claimed = self.model._default_manager.filter(pk__in=ids, **{self.state_field: self.free}).update(
                    **held, **changes
                )
                if claimed == len(ids):
                    return ids
                # Cannot happen under the locks above; be correct anyway.
                mine = set(self.model._default_manager.filter(pk__in=ids, **held).values_list("pk", flat=True))
                return [pk for pk in ids if pk in mine]

        # A claim that lost a deadlock was rolled back whole, so running it again is safe.
        return Claim(ids=retry_on_deadlock(hold_due), lease_until=lease_until, taken_back=taken_back)

    def hold(
        self,
        pk: Any,
        lease_until: datetime,
        *,
        now: datetime | None = None,
        expect: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> datetime | None:
        """Renew the lease of claimed row ``pk`` right before its send; None when it is no longer ours.

        ``expect``: other columns the row must still hold (publishing: its version).
        """
        return renew(
            self.model,
            pk=pk,
            field=self.lease_field,
            held=lease_until,
            seconds=self.seconds,
            now=now,
            expect={**(expect or {}), self.state_field: self.held},
            **changes,
        )

    def give_back(self, ids: list[int], lease_until: datetime) -> int:
        """Free the claimed rows in ``ids`` that still carry this claim's lease; return how many.

        Conditional on the lease: a row another worker took back meanwhile is theirs now.
        """
        held = {self.state_field: self.held, self.lease_field: lease_until}
        return self.model._default_manager.filter(pk__in=ids, **held).update(
            **self.released(**{self.state_field: self.free})
        )

    def released(self, **changes: Any) -> dict[str, Any]:
        """The columns of the UPDATE that ends a claim: no lease, no holder, plus ``changes``."""
        return {self.lease_field: None, **self.holder_fields, **changes}
