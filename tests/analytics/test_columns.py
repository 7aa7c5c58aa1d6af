"""Every vocabulary member the statistics count has its column: a status or failure kind
added without one fails here instead of silently missing from the tables and charts."""

from __future__ import annotations

from analytics.aggregate import (
    FAILURE_FIELDS,
    MESSAGE_STATUS_FIELDS,
    NOT_CHARTED,
    POST_STATUS_FIELDS,
    PUBLISHING_FIELDS,
)
from analytics.chart_sets import CHARTED_KINDS
from analytics.models import AnalyticsHourly, MessageHourly
from messaging.models import StatusLog
from publishing.models import PublishingLog


def _columns(model) -> set[str]:
    return {field.name for field in model._meta.concrete_fields}


def test_every_log_status_has_a_column():
    assert set(POST_STATUS_FIELDS) == set(PublishingLog.Status)
    assert set(POST_STATUS_FIELDS.values()) <= _columns(AnalyticsHourly)


def test_every_failure_kind_has_a_column_and_a_failure_without_one_counts_as_other():
    assert set(FAILURE_FIELDS) == set(PublishingLog.ErrorKind)
    assert set(FAILURE_FIELDS.values()) <= _columns(AnalyticsHourly)
    assert FAILURE_FIELDS[PublishingLog.ErrorKind.NONE] == FAILURE_FIELDS[PublishingLog.ErrorKind.OTHER]


def test_every_status_log_status_has_a_column_or_is_named_as_not_charted():
    assert set(MESSAGE_STATUS_FIELDS) | NOT_CHARTED == set(StatusLog.Status)
    assert not set(MESSAGE_STATUS_FIELDS) & NOT_CHARTED
    assert set(MESSAGE_STATUS_FIELDS.values()) <= _columns(MessageHourly)


def test_every_count_column_is_aggregated_once():
    counted = _columns(AnalyticsHourly) - {"id", "hour_timestamp", "project", "network"}  # the key
    assert sorted(PUBLISHING_FIELDS) == sorted(counted)


def test_the_failure_chart_has_one_series_per_failure_column():
    assert sorted(FAILURE_FIELDS[kind] for kind in CHARTED_KINDS) == sorted(set(FAILURE_FIELDS.values()))
