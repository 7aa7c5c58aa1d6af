"""Posting slots: new tasks take the next free slot of their project, within the daily cap.

A project posts at fixed times of day (``slot_times``, in the owner's time zone) or every
``slot_interval_minutes``; with neither, once an hour. A time may be limited to some
weekdays: ``"Mon-Fri 09:00"``, ``"Sat 11:00"``, ``"Mon,Wed 17:30"`` (``"09:00"`` alone is every
day); the Chinese 周一 … 周日 are understood too. A slot already held by a pending,
publishing or published task is not free, and a day that already holds ``daily_cap`` tasks
takes no more (a cap of 0 means no cap).
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from publishing.models import Project, PublishingTask

DEFAULT_INTERVAL_MINUTES = 60
_MAX_DAYS = 3660  # a bound, so a bad configuration cannot loop forever


DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_OF = {name.lower(): n for n, name in enumerate(DAY_NAMES)} | {
    name: n for n, name in enumerate(("周一", "周二", "周三", "周四", "周五", "周六", "周日"))
}
EVERY_DAY = frozenset(range(7))


def parse_slot_time(value: str) -> time:
    """``"09:30"`` -> time(9, 30); ValueError with a readable message otherwise."""
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise ValueError(f"{value!r} is not a time of day like 09:30") from None


def _days(spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in spec.replace("，", ",").split(","):
        first, _dash, last = part.strip().partition("-")
        start, end = _DAY_OF[first.strip().lower()], _DAY_OF[(last or first).strip().lower()]
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)])
    return frozenset(days)


def parse_slot(value: str) -> tuple[frozenset[int], time]:
    """``"Mon-Fri 09:00"`` -> ({0..4}, time(9, 0)); ``"09:00"`` -> (every day, ...); ValueError otherwise."""
    words = (value or "").split()
    if len(words) == 1:
        return EVERY_DAY, parse_slot_time(words[0])
    if len(words) == 2:
        try:
            return _days(words[0]), parse_slot_time(words[1])
        except KeyError:
            pass
    raise ValueError(f"{value!r} is not a time like 09:30 or Mon-Fri 09:30")


def slot_label(days: frozenset[int], at: time) -> str:
    """The stored spelling: ``"09:00"``, or ``"Mon-Fri 09:00"`` / ``"Mon,Wed 17:30"``."""
    if days == EVERY_DAY:
        return at.strftime("%H:%M")
    ordered = sorted(days)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        spec = f"{DAY_NAMES[ordered[0]]}-{DAY_NAMES[ordered[-1]]}"
    else:
        spec = ",".join(DAY_NAMES[d] for d in ordered)
    return f"{spec} {at:%H:%M}"


def project_zone(project: Project) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(project.owner.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def day_slots(project: Project, day: date, zone: zoneinfo.ZoneInfo) -> list[datetime]:
    """The project's slots on ``day`` (a day of ``zone``), as aware datetimes in ``zone``, in order."""
    if project.slot_times and not project.slot_interval_minutes:
        slots = (parse_slot(value) for value in project.slot_times)
        times = sorted({at for days, at in slots if day.weekday() in days})
        return [datetime.combine(day, t, tzinfo=zone) for t in times]
    step = timedelta(minutes=project.slot_interval_minutes or DEFAULT_INTERVAL_MINUTES)
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    end = start + timedelta(days=1)
    slots, current = [], start
    while current < end:
        slots.append(current)
        current += step
    return slots


def slots_next_free(*, project: Project, count: int, now: datetime | None = None) -> list[datetime]:
    """The next ``count`` free slots after ``now`` (aware UTC datetimes), in order."""
    if count <= 0:
        return []
    now = now or timezone.now()
    zone = project_zone(project)
    today = now.astimezone(zone).date()
    day_start = datetime.combine(today, time(0, 0), tzinfo=zone)
    held = list(
        PublishingTask.objects.filter(
            project=project,
            scheduled_at__gte=day_start,
            status__in=[PublishingTask.Status.PENDING, PublishingTask.Status.LOCKED, PublishingTask.Status.SUCCESS],
        ).values_list("scheduled_at", flat=True)
    )
    taken = {moment.replace(second=0, microsecond=0) for moment in held}
    per_day = Counter(moment.astimezone(zone).date() for moment in held)
    result: list[datetime] = []
    for offset in range(_MAX_DAYS):
        day = today + timedelta(days=offset)
        for slot in day_slots(project, day, zone):
            if project.daily_cap and per_day[day] >= project.daily_cap:
                break
            slot_utc = slot.astimezone(UTC)
            if slot_utc <= now or slot_utc in taken:
                continue
            result.append(slot_utc)
            taken.add(slot_utc)
            per_day[day] += 1
            if len(result) == count:
                return result
    return result


def slots_between(*, project: Project, start: datetime, end: datetime) -> int:
    """How many of the project's slots fall in ``(start, end]``, each day's within the daily cap.

    Free or not: this is what the project would post if its queue were full (the
    "queue running dry" alert, ``publishing.alerts``).
    """
    zone = project_zone(project)
    day, last = start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date()
    count = 0
    while day <= last:
        slots = day_slots(project, day, zone)
        if project.daily_cap:
            slots = slots[: project.daily_cap]
        count += sum(1 for slot in slots if start < slot.astimezone(UTC) <= end)
        day += timedelta(days=1)
    return count
