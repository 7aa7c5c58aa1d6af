"""django-q2 entry points: thin wrappers the schedules in ``analytics/schedules.py`` call."""

from __future__ import annotations

from analytics.aggregate import aggregate_recent


def aggregate_hourly() -> str:
    result = aggregate_recent()
    return f"{result.log_rows} log rows -> {result.publishing_rows + result.message_rows} hourly rows"
