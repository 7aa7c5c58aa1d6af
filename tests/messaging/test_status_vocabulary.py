"""The status-log vocabulary: the sweep's warning statuses are the enum's members."""

from __future__ import annotations

import pytest

from messaging.models import MAX_LEVEL, WARNING_STATUSES, StatusLog


@pytest.mark.parametrize("level", range(1, MAX_LEVEL + 1))
def test_warning_status_is_the_member_for_the_level(level):
    assert StatusLog.warning_status(level) is StatusLog.Status[f"WARNING_{level}"]


def test_every_level_has_a_warning_status_and_every_warning_status_a_level():
    numbered = {status for status in StatusLog.Status if status.name.removeprefix("WARNING_").isdigit()}
    assert set(WARNING_STATUSES) == set(range(1, MAX_LEVEL + 1))
    assert set(WARNING_STATUSES.values()) == numbered


def test_there_is_no_warning_status_past_the_last_level():
    with pytest.raises(KeyError):
        StatusLog.warning_status(MAX_LEVEL + 1)
