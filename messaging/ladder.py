"""The escalation ladder: every offset of a message's warnings, and pure schedule functions.

A message has one of three ladders (``ladder_of``):
- the seed's (``Message.ladder_seconds`` empty): ``D = initial_delay_months x
  MESSAGING_DAYS_PER_MONTH`` days after creation (or the last reset) the owner gets warning 1;
  then ``MESSAGING_LADDER_DAYS`` say how many days follow warning 1..5 before the next step
  (the seed: 30, 30, 7, 1, 1 - so delivery at D + 69 d). Rows written before ladders existed
  keep exactly this.
- a named preset (``PRESETS``, e.g. the welfare check: warn after 1 day, then +6 h, +6 h,
  deliver after +12 h);
- a custom ladder, validated by ``clean_custom``: 1 to 5 warnings, every gap at least an hour,
  at most ten years in all.
A preset's or custom ladder's offsets are stored on the message in seconds
(``[first, gap after warning 1, ..., gap after the last warning]``), so a preset changed later
never moves a ladder already running, and the sweep groups rows by those numbers.

A message with fewer than five warnings is delivered one interval after its last warning.

Unlike the seed, the running ladder is timed from when each warning was actually sent
(see ``messaging.sweep``), so the schedule below is a projection: exact while the cluster
runs, and only ever later (never earlier) after downtime or a pause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.models import MAX_LEVEL

DELIVERY_STEP = MAX_LEVEL + 1  # the seed's delivery step; a shorter ladder delivers at warnings + 1

SEED = "seed"
CUSTOM = "custom"
HOUR = 3600
DAY = 24 * HOUR
MIN_GAP_SECONDS = HOUR
MAX_TOTAL_SECONDS = 3653 * DAY  # ten years, leap days included
MIN_WARNINGS, MAX_WARNINGS = 1, MAX_LEVEL


@dataclass(frozen=True)
class Step:
    step: int  # 1..n = warning level, n + 1 = delivery
    at: datetime
    is_delivery: bool = False


@dataclass(frozen=True)
class Ladder:
    """``first`` before warning 1, then ``gaps[i]`` after warning i + 1 (the last one: until delivery)."""

    first: timedelta
    gaps: tuple[timedelta, ...]

    @property
    def warnings(self) -> int:
        return len(self.gaps)

    @property
    def delivery_step(self) -> int:
        return self.warnings + 1

    def interval_after(self, level: int) -> timedelta:
        """Time between warning ``level`` (1..warnings) and the next step."""
        return self.gaps[level - 1]

    def interval_before_next(self, level: int) -> timedelta:
        """The whole interval that leads to the step after ``level`` (0: the first delay)."""
        return self.first if level == 0 else self.interval_after(level)

    @property
    def total(self) -> timedelta:
        return self.first + sum(self.gaps, timedelta())

    def as_seconds(self) -> list[int]:
        return [int(self.first.total_seconds()), *(int(g.total_seconds()) for g in self.gaps)]

    @classmethod
    def from_seconds(cls, seconds: list[int]) -> Ladder:
        return cls(first=timedelta(seconds=seconds[0]), gaps=tuple(timedelta(seconds=s) for s in seconds[1:]))


@dataclass(frozen=True)
class Preset:
    name: str
    label: object  # a lazy translation
    seconds: tuple[int, ...]

    @property
    def ladder(self) -> Ladder:
        return Ladder.from_seconds(list(self.seconds))


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        # A daily check-in for someone living alone: a missed day is noticed within a day and a half.
        Preset("welfare", gettext_lazy("Welfare check (daily)"), (DAY, 6 * HOUR, 6 * HOUR, 12 * HOUR)),
        Preset("weekly", gettext_lazy("Weekly check"), (7 * DAY, DAY, DAY, DAY)),
        Preset("monthly", gettext_lazy("Monthly check"), (30 * DAY, 7 * DAY, 3 * DAY, DAY)),
    )
}


def choices() -> list[tuple[str, object]]:
    """What the form and the admin offer: the seed's ladder, the presets, a custom one."""
    return [
        (SEED, gettext_lazy("Standard (months, then 30, 30, 7, 1 and 1 days)")),
        *((p.name, p.label) for p in PRESETS.values()),
        (CUSTOM, gettext_lazy("Custom")),
    ]


def seed_ladder(months: int) -> Ladder:
    return Ladder(first=initial_delay(months), gaps=tuple(timedelta(days=d) for d in settings.MESSAGING_LADDER_DAYS))


def ladder_of(message) -> Ladder:
    """The ladder a message runs on (its stored seconds, else the seed's from its months)."""
    if message.ladder_seconds:
        return Ladder.from_seconds(message.ladder_seconds)
    return seed_ladder(message.initial_delay_months)


def ladder_name(message) -> str:
    return message.ladder_preset or SEED


def clean_custom(seconds: list) -> list[int]:
    """A custom ladder's offsets in seconds, or ``ValidationError`` keyed ``ladder_steps``."""
    try:
        values = [int(s) for s in seconds]
    except (TypeError, ValueError):
        raise ValidationError({"ladder_steps": _("Give whole numbers only.")}) from None
    if not MIN_WARNINGS + 1 <= len(values) <= MAX_WARNINGS + 1:
        raise ValidationError(
            {
                "ladder_steps": _(
                    "Give the time before the first warning and after each warning: "
                    "%(min)d to %(max)d warnings, so %(low)d to %(high)d numbers."
                )
                % {"min": MIN_WARNINGS, "max": MAX_WARNINGS, "low": MIN_WARNINGS + 1, "high": MAX_WARNINGS + 1}
            }
        )
    if any(v < MIN_GAP_SECONDS for v in values):
        raise ValidationError({"ladder_steps": _("Each step must be at least one hour after the one before.")})
    if sum(values) > MAX_TOTAL_SECONDS:
        raise ValidationError({"ladder_steps": _("The whole ladder may last at most ten years.")})
    return values


def resolve(name: str, custom_seconds: list | None) -> tuple[str, list[int] | None]:
    """(``ladder_preset``, ``ladder_seconds``) to store for a chosen ladder; ``ValidationError`` keyed by field."""
    name = name or SEED
    if name == SEED:
        return "", None
    if name == CUSTOM:
        if not custom_seconds:
            raise ValidationError({"ladder_steps": _("Give the steps of your ladder.")})
        return CUSTOM, clean_custom(custom_seconds)
    if name not in PRESETS:
        raise ValidationError({"ladder": _("Choose one of the ladders offered.")})
    return name, list(PRESETS[name].seconds)


def initial_delay(months: int) -> timedelta:
    return timedelta(days=months * settings.MESSAGING_DAYS_PER_MONTH)


def interval_after(level: int, ladder: Ladder | None = None) -> timedelta:
    """Time between warning ``level`` and the next step (the seed's ladder when none is given)."""
    if ladder is None:
        return timedelta(days=settings.MESSAGING_LADDER_DAYS[level - 1])
    return ladder.interval_after(level)


def warning_next_step(*, level: int, due_at: datetime, sending_at: datetime, ladder: Ladder | None = None) -> datetime:
    """When the step after warning ``level`` comes, for its e-mail going out at ``sending_at``.

    The one rule for both the time the warning e-mail states and the ``next_warning_date``
    stored after it went out (``messaging.notices``), so the two do not disagree. The
    interval counts from the send, not from when the sweep queued the warning (``due_at``,
    the later one wins): a warning held up by a relay outage (or a pause) still gives the
    owner its whole interval, and its e-mail never names a deadline that is already past.

    The e-mail states it to the minute, so it is rounded up to the minute: what the owner
    reads is never earlier than what the ladder keeps. It is fixed just before the send (the
    e-mail must carry it); the sender then stores ``max(this, sent + interval)``, which is
    this same time unless the send itself took longer than the rounding left over, and then
    only seconds later (the same minute, unless the send took over a minute): never early.
    """
    at = max(due_at, sending_at + interval_after(level, ladder))
    minute = at.replace(second=0, microsecond=0)
    return minute if minute == at else minute + timedelta(minutes=1)


def schedule_from(*, level: int, next_at: datetime, ladder: Ladder | None = None) -> list[Step]:
    """The remaining steps of a message now at ``level`` whose next step is at ``next_at``."""
    ladder = ladder or seed_ladder(1)  # the first delay is not read past level 0
    last = ladder.delivery_step
    steps = [Step(level + 1, next_at, is_delivery=level + 1 == last)]
    at = next_at
    for step in range(level + 1, last):
        at = at + ladder.interval_after(step)
        steps.append(Step(step + 1, at, is_delivery=step + 1 == last))
    return steps


def calculate_warning_schedule(*, start: datetime, delay_months: int) -> list[Step]:
    """The seed's ``calculate_warning_schedule``: every step of a cycle that starts at ``start``."""
    return schedule_from(level=0, next_at=start + initial_delay(delay_months))


def total_days(delay_months: int) -> int:
    """Days from the start of a cycle to delivery when nobody answers (D + 69 with the seed)."""
    return delay_months * settings.MESSAGING_DAYS_PER_MONTH + sum(settings.MESSAGING_LADDER_DAYS)
