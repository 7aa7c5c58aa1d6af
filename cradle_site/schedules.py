"""The registry of django-q2 schedules that the apps declare.

Each app may have a ``schedules.py`` with ``SCHEDULES = [ScheduleSpec(...), ...]``.
``manage.py setup_schedules`` creates or updates all of them by name and removes
Cradle schedules nobody declares any more, so it is safe to run on every deploy.
A job whose function moved (``analytics.tasks.backup_daily`` became ``ops.tasks.backup_daily``)
is repaired by the same rule: a schedule kept its name and gets the new ``func``, one renamed
(``cradle.analytics.backup`` became ``cradle.ops.backup``) is created anew and the old row goes.
Schedules outside the prefix are the operator's own and only reported when their function is gone.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.utils import timezone
from django.utils.module_loading import import_string

PREFIX = "cradle."


@dataclass(frozen=True)
class ScheduleSpec:
    name: str  # without the prefix, e.g. "messaging.sweep"
    func: str  # dotted path, e.g. "messaging.tasks.sweep"
    schedule_type: str  # django_q.models.Schedule.MINUTES / HOURLY / DAILY / CRON ...
    minutes: int | None = None
    cron: str | None = None
    kwargs: dict = field(default_factory=dict)
    # For daily and monthly jobs: first run at this UTC hour, not the moment of install
    # (a backup or a vacuum belongs in the quiet hours).
    at_hour_utc: int | None = None

    def first_run(self, now: datetime) -> datetime:
        if self.at_hour_utc is None:
            return now
        candidate = now.astimezone(UTC).replace(hour=self.at_hour_utc, minute=0, second=0, microsecond=0)
        return candidate if candidate > now else candidate + timedelta(days=1)

    @property
    def full_name(self) -> str:
        return PREFIX + self.name


def declared_schedules() -> list[ScheduleSpec]:
    specs: list[ScheduleSpec] = []
    for config in apps.get_app_configs():
        if not config.path.startswith(str(_project_dir())):
            continue
        try:
            module = importlib.import_module(f"{config.name}.schedules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.schedules":
                raise
            continue
        specs.extend(getattr(module, "SCHEDULES", []))
    return specs


def _project_dir():
    from django.conf import settings

    return settings.BASE_DIR


def install_schedules() -> tuple[int, int, int]:
    """Create or update every declared schedule; return (created, updated, removed)."""
    from django_q.models import Schedule

    created = updated = 0
    names = []
    for spec in declared_schedules():
        names.append(spec.full_name)
        values = {
            "func": spec.func,
            "schedule_type": spec.schedule_type,
            "minutes": spec.minutes,
            "cron": spec.cron,
            "kwargs": spec.kwargs or {},
            "repeats": -1,
        }
        schedule = Schedule.objects.filter(name=spec.full_name).first()
        if schedule is None:
            Schedule.objects.create(name=spec.full_name, next_run=spec.first_run(timezone.now()), **values)
            created += 1
            continue
        changed = [key for key, value in values.items() if getattr(schedule, key) != value]
        if changed:
            for key in changed:
                setattr(schedule, key, values[key])
            schedule.save(update_fields=changed)
            updated += 1
    removed, _ = Schedule.objects.filter(name__startswith=PREFIX).exclude(name__in=names).delete()
    return created, updated, removed


def unresolved_schedules() -> list[tuple[str, str]]:
    """(name, func) of every schedule whose function no longer imports: django-q2 would fail it each run."""
    from django_q.models import Schedule

    broken = []
    for name, func in Schedule.objects.order_by("name").values_list("name", "func"):
        try:
            import_string(func)
        except ImportError:
            broken.append((name, func))
    return broken
