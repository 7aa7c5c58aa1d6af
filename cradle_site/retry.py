"""How a failure is retried: one back-off policy, and one retry for database deadlocks.

Every job that retries (a delivery, a notice or warning e-mail to the owner, a publishing
task) waits ``base x 2^(n-1)`` seconds after its n-th failed attempt, capped at ``cap``,
and gives up after ``max_attempts`` failed attempts (``None``: never, for work that must
not be dropped). The numbers are settings, so each caller builds its policy from them when
it needs it (a small ``*_backoff()`` function beside the job), and tests can override them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.db import OperationalError, connection

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
    raise AssertionError("unreachable")
