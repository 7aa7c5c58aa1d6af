"""The one retry policy (``cradle_site.retry``) and the deadlock retry."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, transaction

from cradle_site.errors import Busy
from cradle_site.retry import Backoff, retry_on_deadlock, retry_write


def test_it_doubles_from_the_base_and_stops_at_the_cap():
    policy = Backoff(base=60, cap=300, max_attempts=5)
    assert [policy.delay(n) for n in range(1, 6)] == [timedelta(seconds=s) for s in (60, 120, 240, 300, 300)]
    assert policy.delay(10_000) == timedelta(seconds=300)  # no overflow after years of retries


def test_it_is_exhausted_at_max_attempts_and_never_without_one():
    policy = Backoff(base=1, cap=1, max_attempts=3)
    assert [policy.exhausted(n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert not Backoff(base=1, cap=1).exhausted(10**9)


@pytest.mark.parametrize(
    "options", [{"base": 0, "cap": 10}, {"base": 60, "cap": 30}, {"base": 1, "cap": 1, "max_attempts": 0}]
)
def test_it_refuses_a_policy_that_cannot_work(options):
    with pytest.raises(ValueError):
        Backoff(**options)


def test_a_deadlock_is_run_again_and_the_result_returned():
    calls = []

    def work():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError(1213, "Deadlock found when trying to get lock")
        return "done"

    assert retry_on_deadlock(work, pause=0) == "done"
    assert len(calls) == 3


def test_other_errors_and_the_last_deadlock_are_raised():
    def broken():
        raise OperationalError(2006, "MySQL server has gone away")

    with pytest.raises(OperationalError):
        retry_on_deadlock(broken, pause=0)
    calls = []

    def always_deadlocked():
        calls.append(1)
        raise OperationalError(1213, "Deadlock")

    with pytest.raises(OperationalError):
        retry_on_deadlock(always_deadlocked, attempts=4, pause=0)
    assert len(calls) == 4


def test_the_last_deadlock_is_raised_as_busy_and_other_errors_as_they_are():
    def always_deadlocked():
        raise OperationalError(1213, "Deadlock")

    with pytest.raises(Busy) as raised:
        retry_on_deadlock(always_deadlocked, attempts=2, pause=0)
    assert raised.value.args[0] == 1213 and isinstance(raised.value, OperationalError)

    def gone():
        raise OperationalError(2006, "MySQL server has gone away")

    with pytest.raises(OperationalError) as raised:
        retry_on_deadlock(gone, pause=0)
    assert not isinstance(raised.value, Busy)


@pytest.mark.django_db
def test_inside_an_outer_transaction_a_deadlock_is_busy_at_once_and_not_run_again():
    # InnoDB rolled back the whole outer transaction: running only the inner part again is wrong.
    calls = []

    def work():
        calls.append(1)
        raise OperationalError(1213, "Deadlock")

    with pytest.raises(Busy), transaction.atomic():
        retry_on_deadlock(work, pause=0)
    assert calls == [1]


@pytest.mark.django_db
def test_a_write_that_fails_while_the_database_is_away_is_run_again_until_it_commits():
    calls = []

    def work():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError(2006, "MySQL server has gone away")
        return "recorded"

    assert retry_write(work, seconds=5, pause=0.01) == "recorded"
    assert len(calls) == 3


@pytest.mark.django_db
def test_a_write_gives_up_after_its_time_budget_with_the_last_error():
    calls = []

    def work():
        calls.append(time.monotonic())
        raise InterfaceError("connection already closed")

    started = time.monotonic()
    with pytest.raises(InterfaceError):
        retry_write(work, seconds=0.3, pause=0.05, max_pause=0.1)
    assert len(calls) >= 3
    assert 0.2 <= time.monotonic() - started < 1.0


@pytest.mark.django_db
def test_a_write_is_not_retried_for_an_error_no_retry_can_fix():
    calls = []

    def work():
        calls.append(1)
        raise IntegrityError(1062, "Duplicate entry")

    with pytest.raises(IntegrityError):
        retry_write(work, seconds=5, pause=0.01)
    assert len(calls) == 1
