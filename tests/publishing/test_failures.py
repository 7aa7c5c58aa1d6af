"""Every failure kind has its handling, and the vocabulary is closed: a kind added to
PublishingLog.ErrorKind without a row in publishing.failures.ON_FAILURE fails here."""

from __future__ import annotations

import pytest

from publishing.failures import ON_FAILURE, OnFailure
from publishing.models import PublishingLog
from publishing.publishers import PublishError

ErrorKind = PublishingLog.ErrorKind


def test_it_handles_every_failure_kind():
    assert set(ON_FAILURE) == set(ErrorKind)


def test_only_a_rate_limit_or_rejected_credentials_hold_the_whole_account():
    assert {kind for kind, handling in ON_FAILURE.items() if handling.holds_account} == {
        ErrorKind.RATE_LIMIT,
        ErrorKind.AUTH,
    }


def test_only_server_and_network_errors_are_retried():
    assert {kind for kind, handling in ON_FAILURE.items() if handling is OnFailure.RETRY} == {
        ErrorKind.SERVER,
        ErrorKind.NETWORK,
    }


def test_a_publish_error_carries_the_enum_member():
    assert PublishError("network", "timed out").kind is ErrorKind.NETWORK


def test_a_publish_error_refuses_a_kind_outside_the_vocabulary():
    with pytest.raises(ValueError):
        PublishError("timeout", "not one of the kinds")
