"""The escalation ladder: offsets from settings and a pure schedule function.

``D = initial_delay_months x MESSAGING_DAYS_PER_MONTH`` days after creation (or the last
reset) the owner gets warning 1; then ``MESSAGING_LADDER_DAYS`` say how many days follow
warning 1..5 before the next step (the seed: 30, 30, 7, 1, 1 - so delivery at D + 69 d).

Unlike the seed, the running ladder is timed from when each warning was actually sent
(see ``messaging.sweep``), so the schedule below is a projection: exact while the cluster
runs, and only ever later (never earlier) after downtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from messaging.models import MAX_LEVEL

DELIVERY_STEP = MAX_LEVEL + 1


@dataclass(frozen=True)
class Step:
    step: int  # 1..5 = warning level, 6 = delivery
    at: datetime

    @property
    def is_delivery(self) -> bool:
        return self.step == DELIVERY_STEP


def initial_delay(months: int) -> timedelta:
    return timedelta(days=months * settings.MESSAGING_DAYS_PER_MONTH)


def interval_after(level: int) -> timedelta:
    """Time between warning ``level`` (1..5) and the next step."""
    return timedelta(days=settings.MESSAGING_LADDER_DAYS[level - 1])


def warning_next_step(*, level: int, due_at: datetime, sending_at: datetime) -> datetime:
    """When the step after warning ``level`` comes, for its e-mail going out at ``sending_at``.

    The one rule for both the time the warning e-mail states and the ``next_warning_date``
    stored after it went out (``messaging.notices``), so the two do not disagree. The
    interval counts from the send, not from when the sweep queued the warning (``due_at``,
    the later one wins): a warning held up by a relay outage still gives the owner its whole
    interval, and its e-mail never names a deadline that is already past.

    The e-mail states it to the minute, so it is rounded up to the minute: what the owner
    reads is never earlier than what the ladder keeps. It is fixed just before the send (the
    e-mail must carry it); the sender then stores ``max(this, sent + interval)``, which is
    this same time unless the send itself took longer than the rounding left over, and then
    only seconds later (the same minute, unless the send took over a minute): never early.
    """
    at = max(due_at, sending_at + interval_after(level))
    minute = at.replace(second=0, microsecond=0)
    return minute if minute == at else minute + timedelta(minutes=1)


def schedule_from(*, level: int, next_at: datetime) -> list[Step]:
    """The remaining steps of a message now at ``level`` whose next step is at ``next_at``."""
    steps = [Step(level + 1, next_at)]
    at = next_at
    for step in range(level + 1, DELIVERY_STEP):
        at = at + interval_after(step)
        steps.append(Step(step + 1, at))
    return steps


def calculate_warning_schedule(*, start: datetime, delay_months: int) -> list[Step]:
    """The seed's ``calculate_warning_schedule``: every step of a cycle that starts at ``start``."""
    return schedule_from(level=0, next_at=start + initial_delay(delay_months))


def total_days(delay_months: int) -> int:
    """Days from the start of a cycle to delivery when nobody answers (D + 69 with the seed)."""
    return delay_months * settings.MESSAGING_DAYS_PER_MONTH + sum(settings.MESSAGING_LADDER_DAYS)
