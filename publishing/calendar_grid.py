"""The calendar: a week or a month of one owner's posts laid on the days of their time zone,
each project's free posting slots shown as empty boxes to drop a post on (``views_calendar``).

Three reads whatever the range holds: the owner's projects; the ids, times and statuses of
every task in the range (on ``ix_tasks_owner_sched``, no task JSON); then the full rows of
the few shown per day (``MAX_SHOWN_PER_DAY``; the rest are counted and linked to the list).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from publishing.composer import posts_of
from publishing.models import Project, PublishingTask
from publishing.preview import posts_shown
from publishing.scheduling import day_slots

Status = PublishingTask.Status

VIEWS = ("week", "month")
MAX_SHOWN_PER_DAY = {"week": 24, "month": 6}
# What the calendar draws: cancelled posts are gone from the plan.
SHOWN_STATUSES = (Status.PENDING, Status.LOCKED, Status.HELD, Status.SUCCESS, Status.FAILED)
# A slot holds a post while it is still to go out or went out; a failed one frees it.
HOLDING_STATUSES = (Status.PENDING, Status.LOCKED, Status.HELD, Status.SUCCESS)
# Free slots offered per project in each post's "Move to" list (the keyboard's way to move).
MOVE_CHOICES = 14


@dataclass
class Slot:
    """An empty posting slot of one project: a place to drop a post of that project."""

    at: datetime  # aware, UTC
    project: Project


@dataclass
class Item:
    task: PublishingTask
    at: datetime  # in the viewer's zone
    text: str
    thumbnail: str  # a media URL, or ""
    thumbnail_alt: str
    has_video: bool
    movable: bool
    choices: list[datetime] = field(default_factory=list)  # where its "Move to" list offers to go


@dataclass
class Day:
    day: date
    items: list[Item] = field(default_factory=list)
    more: int = 0
    slots: list[Slot] = field(default_factory=list)
    is_today: bool = False
    is_past: bool = False
    in_month: bool = True


@dataclass
class Calendar:
    view: str
    first: date
    last: date
    anchor: date
    weeks: list[list[Day]]
    projects: list[Project]

    @property
    def previous_anchor(self) -> date:
        if self.view == "week":
            return self.anchor - timedelta(days=7)
        return (self.anchor.replace(day=1) - timedelta(days=1)).replace(day=1)

    @property
    def next_anchor(self) -> date:
        if self.view == "week":
            return self.anchor + timedelta(days=7)
        return (self.anchor.replace(day=28) + timedelta(days=4)).replace(day=1)


def date_range(view: str, anchor: date) -> tuple[date, date]:
    """The first and last day shown: the Monday-to-Sunday week holding ``anchor``, or every
    whole week touching ``anchor``'s month."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=6)
    month_start = anchor.replace(day=1)
    month_end = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return month_start - timedelta(days=month_start.weekday()), month_end + timedelta(days=6 - month_end.weekday())


def _thumbnail(task: PublishingTask) -> tuple[str, str, bool]:
    shown = posts_shown(posts_of(task, []))[0]
    for media in shown.media:
        if media.kind != "video":
            return media.url, media.alt_text, False
    return "", "", any(m.kind == "video" for m in shown.media)


def build(
    *,
    owner,
    view: str,
    anchor: date,
    zone: zoneinfo.ZoneInfo,
    project_id: int | None = None,
    now: datetime | None = None,
) -> Calendar:
    now = now or timezone.now()
    first, last = date_range(view, anchor)
    shown_per_day = MAX_SHOWN_PER_DAY[view]
    start = datetime.combine(first, time(0, 0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=zone)
    projects = list(
        Project.objects.owned_by(owner)
        .filter(archived_at__isnull=True, deleting_since__isnull=True)
        .select_related("owner")
        .order_by("name")
    )
    if project_id:
        projects = [p for p in projects if p.pk == project_id]
    tasks = PublishingTask.objects.owned_by(owner).filter(
        scheduled_at__gte=start, scheduled_at__lt=end, status__in=SHOWN_STATUSES
    )
    if project_id:
        tasks = tasks.filter(project_id=project_id)
    placed = list(tasks.order_by("scheduled_at", "id").values_list("id", "scheduled_at", "project_id", "status"))

    by_day: dict[date, list[int]] = defaultdict(list)
    taken: set[tuple[int, datetime]] = set()
    held_per_day: dict[tuple[int, date], int] = defaultdict(int)
    for pk, at, project, status in placed:
        local_day = at.astimezone(zone).date()
        by_day[local_day].append(pk)
        if status in HOLDING_STATUSES:
            taken.add((project, at.astimezone(UTC).replace(second=0, microsecond=0)))
            held_per_day[(project, local_day)] += 1
    shown_ids = [pk for ids in by_day.values() for pk in ids[:shown_per_day]]
    rows = PublishingTask.objects.select_related("project").in_bulk(shown_ids)

    today = now.astimezone(zone).date()
    move_choices: dict[int, list[datetime]] = defaultdict(list)
    days = []
    day = first
    while day <= last:
        cell = Day(
            day=day, is_today=day == today, is_past=day < today, in_month=view == "week" or day.month == anchor.month
        )
        ids = by_day.get(day, [])
        cell.more = max(0, len(ids) - shown_per_day)
        for pk in ids[:shown_per_day]:
            task = rows[pk]
            thumbnail, alt, video = _thumbnail(task)
            cell.items.append(
                Item(
                    task=task,
                    at=task.scheduled_at.astimezone(zone),
                    text=(task.content_data or {}).get("text", "") or task.origin_label,
                    thumbnail=thumbnail,
                    thumbnail_alt=alt,
                    has_video=video,
                    movable=task.status == Status.PENDING,
                )
            )
        for project in projects:
            if not project.slot_times or project.slot_interval_minutes:
                continue  # an every-N-minutes project has no slots worth drawing
            slots = day_slots(project, day, zone)
            room = project.daily_cap - held_per_day[(project.pk, day)] if project.daily_cap else len(slots)
            for slot in slots:
                at = slot.astimezone(UTC)
                if room <= 0:
                    break
                if at <= now or (project.pk, at) in taken:
                    continue
                cell.slots.append(Slot(at=at, project=project))
                room -= 1
                if len(move_choices[project.pk]) < MOVE_CHOICES:
                    move_choices[project.pk].append(at)
        cell.slots.sort(key=lambda s: (s.at, s.project.name))
        days.append(cell)
        day += timedelta(days=1)
    for cell in days:
        for item in cell.items:
            if item.movable:
                item.choices = move_choices.get(item.task.project_id, [])
    weeks = [days[n : n + 7] for n in range(0, len(days), 7)]
    return Calendar(
        view=view,
        first=first,
        last=last,
        anchor=anchor,
        weeks=weeks,
        projects=projects,
    )
