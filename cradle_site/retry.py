"""How a failure is retried: one back-off policy, one retry for database deadlocks, one for a write after a send.

Every job that retries (a delivery, a warning e-mail to the owner, a staff alarm, a publishing
task) waits ``base x 2^(n-1)`` seconds after its n-th failed attempt, capped at ``cap``,
and gives up after ``max_attempts`` failed attempts (``None``: never, for work that must
not be dropped). The numbers are settings, so each caller builds its policy from them when
it needs it (a small ``*_backoff()`` function beside the job), and tests can override them.

``retry_write`` is for the bookkeeping after something left the building (an e-mail, a
webhook): when the database is down for a moment right then, giving up would leave the row
to its lease and the next worker would send again. It keeps trying for a bounded time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection, transaction

from cradle_site.errors import Busy

T = TypeVar("T")

# MySQL/MariaDB: lock wait timeout, deadlock. The transaction was rolled back as a whole.
_DEADLOCK_CODES = {1205, 1213}


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError(f"a back-off needs 0 < base <= cap (base {self.base}, cap {self.cap})")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (or None: retry for ever)")

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after ``attempts`` failed attempts before the next one."""
        exponent = min(max(attempts - 1, 0), 62)  # 2**62 x base is past any cap; avoids huge ints
        return timedelta(seconds=min(self.base * 2**exponent, self.cap))

    def exhausted(self, attempts: int) -> bool:
        """Whether ``attempts`` failed attempts are all this policy allows."""
        return self.max_attempts is not None and attempts >= self.max_attempts


def retry_on_deadlock(work: Callable[[], T], *, attempts: int = 5, pause: float = 0.05) -> T:
    """Run ``work`` (one whole transaction) again when the database rolled it back for a deadlock.

    Only for idempotent work: the rolled-back attempt left nothing behind, and running it
    again must give the same result. Any other error is raised as it is; the last deadlock
    is raised as ``Busy`` (same arguments), which callers facing a person turn into "try again".

    Inside an outer transaction nothing is retried: InnoDB rolled back the whole outer
    transaction, not only ``work``'s savepoint, so only the outer transaction's owner can
    run it again. ``Busy`` at once tells it so (its own ``retry_on_deadlock`` retries it).
    """
    inside = connection.in_atomic_block
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as exc:
            if not exc.args or exc.args[0] not in _DEADLOCK_CODES:
                raise
            if isinstance(exc, Busy) and inside:
                raise
            if inside or attempt == attempts:
                raise Busy(*exc.args) from exc
            time.sleep(pause * attempt)
    raise AssertionError("every attempt returns or raises")


def retry_write(work: Callable[[], T], *, seconds: float, pause: float = 0.1, max_pause: float = 2.0) -> T:
    """Run ``work`` in a transaction of its own until it commits or ``seconds`` have gone by.

    For the write that records work done outside the database (a sent e-mail): it is retried
    on any ``OperationalError`` / ``InterfaceError`` (server gone, connection lost, deadlock),
    with a fresh connection each time, pausing ``pause`` seconds doubling up to ``max_pause``.
    ``work`` must be idempotent: a try whose commit reached the server but whose answer was
    lost runs again. The last error is raised once the time is spent.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            with transaction.atomic():
                return work()
        except (OperationalError, InterfaceError):
            if time.monotonic() + pause > deadline:
                raise
        if not connection.in_atomic_block:
            # A dead connection stays dead: drop it, and the next query connects again.
            # (Inside an outer transaction there is nothing to reconnect to; tests run so.)
            connection.close()
        time.sleep(pause)
        pause = min(pause * 2, max_pause)
