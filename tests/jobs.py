"""Run the cluster's jobs by hand, as one minute of the cluster would."""

from __future__ import annotations

from django.utils.module_loading import import_string

from messaging.schedules import SCHEDULES


def messaging_minute() -> dict[str, dict]:
    """Every messaging job once, in the order they are declared; their results by job name."""
    return {spec.name: import_string(spec.func)() for spec in SCHEDULES}
