"""Deliveries under faults on MariaDB: the database killed mid-batch, workers killed mid-send, a webhook
that answers after the timeout, a batch that outlives Q_TIMEOUT. Counted after recovery (conftest.Outcome).

    DEBUG=1 DATABASE_URL=mysql://root@127.0.0.1:3306/cradle_x .venv/bin/pytest tests/faults -s
"""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import finish, kill, outcome, wait_for

pytestmark = [pytest.mark.mariadb_only, pytest.mark.slow]


def test_the_database_killed_mid_batch_loses_stuck_or_repeats_nothing(faults, receiver):
    ids = faults.setup(receiver, messages=300)
    receiver.delay = lambda path, n: 0.02
    workers = [faults.worker(seconds=20, SEND_LIMIT="10") for _ in range(2)]
    for kill_at in (20, 120):
        wait_for(lambda at=kill_at: len(receiver.posts) >= at, 60, f"{kill_at} POSTs")
        faults.server.kill()  # SIGKILL while both workers are sending
        time.sleep(1.5)
        faults.server.start()
    errors = [finish(w) for w in workers]
    receiver.delay = lambda path, n: 0.0
    result = outcome(faults, receiver, ids)
    print(result.report(same_id_excused=False), [e.count("job failed") for e in errors])
    # No worker died: a copy can only come from our own bookkeeping, so none is excused.
    result.assert_recovered(same_id_excused=False)


def test_workers_killed_mid_send_leave_nothing_lost_or_stuck_and_repeats_carry_one_delivery_id(faults, receiver):
    ids = faults.setup(receiver, messages=60)
    receiver.delay = lambda path, n: 0.4  # each send is in flight long enough for the kill to land in it
    workers = [faults.worker(seconds=60, SEND_LIMIT="3") for _ in range(2)]
    for round_ in range(6):
        wait_for(lambda r=round_: len(receiver.posts) >= 4 * (r + 1), 60, "sends in flight")
        victim = workers.pop(round_ % len(workers))
        kill(victim)
        workers.append(faults.worker(seconds=60, SEND_LIMIT="3"))
    for worker in workers:
        kill(worker)
    receiver.delay = lambda path, n: 0.0
    result = outcome(faults, receiver, ids)
    print(result.report(same_id_excused=True))
    result.assert_recovered(same_id_excused=True)


def test_a_webhook_answering_after_the_timeout_is_delivered_once_or_repeated_with_one_delivery_id(faults, receiver):
    ids = faults.setup(receiver, messages=40)
    slow = {f"/r/{pk}" for pk in ids[::5]}
    # Every 5th receiver takes the POST and answers after the sender's 1 s timeout, the first time.
    receiver.delay = lambda path, n: 2.5 if path in slow and n == 1 else 0.0
    finish(faults.worker(seconds=10))
    result = outcome(faults, receiver, ids)
    print(result.report(same_id_excused=True))
    result.assert_recovered(same_id_excused=True)


def test_a_batch_that_outlives_q_timeout_leaves_nothing_stuck(faults, receiver):
    ids = faults.setup(receiver, messages=80)
    receiver.delay = lambda path, n: 0.25  # a batch of 80 takes 20 s: far past the cluster's timeout
    q_timeout = 4
    for _round in range(4):
        # One run of the minute's jobs, killed at Q_TIMEOUT as django-q2 kills a task that overruns.
        worker = faults.worker(seconds=0, Q_TIMEOUT=str(q_timeout), Q_RETRY=str(q_timeout + 1))
        try:
            worker.wait(timeout=q_timeout)
        except Exception:
            pass
        kill(worker)
    receiver.delay = lambda path, n: 0.0
    result = outcome(faults, receiver, ids)
    print(result.report(same_id_excused=True))
    result.assert_recovered(same_id_excused=True)
