"""An answer that meets a sender on MariaDB: both take the message row first, so neither deadlocks.

The two sides are two threads with their own connections, lined up with events: the sender
stops between its claim and its lease renewal, the revoke takes the row lock, the sender
runs into it (seen as a lock wait in ``information_schema``), then the revoke goes on.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from cradle_site import leases
from messaging import delivery, notices, services
from messaging.models import Delivery, Message

pytestmark = [pytest.mark.mariadb_only, pytest.mark.django_db(transaction=True)]


def _wait_for_a_lock_wait(timeout: float = 10) -> None:
    """Until another connection to this database has been in one statement for 200 ms: it waits for our lock.

    (A statement by primary key takes well under a millisecond; MariaDB's ``INNODB_TRX`` does
    not list an autocommit statement that waits, so the process list is the witness.)
    """
    end = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < end:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() "
                "AND ID <> CONNECTION_ID() AND COMMAND = 'Query' AND TIME_MS > 200"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the other side never waited for the row lock")


class Side(threading.Thread):
    """Run ``work`` in a thread with its own connection; keep its result or its error."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None

    def run(self):
        try:
            self.result = self.work()
        except Exception as exc:  # reported by the test
            self.error = exc
        finally:
            connections.close_all()


def _revoke_while_the_other_side_waits(monkeypatch, message, claimed: threading.Event, locked: threading.Event):
    """Revoke ``message``; on its first attempt, hold the row lock until the other side waits for it."""
    original = services._drop_pending_warning
    first = []

    def held(locked_message):
        if not first:
            first.append(True)
            locked.set()
            _wait_for_a_lock_wait()
        original(locked_message)

    monkeypatch.setattr(services, "_drop_pending_warning", held)
    # One attempt: a deadlock must not happen at all, not merely be retried away.
    monkeypatch.setattr(services, "retry_on_deadlock", lambda work: work(), raising=False)
    assert claimed.wait(10), "the other side never got to its claim"
    return services.message_revoke(message=message)


def test_a_revoke_that_meets_the_warning_sender_commits_and_the_warning_is_not_sent(owner, make_message, monkeypatch):
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(
        warning_level=5, next_warning_date=timezone.now() + timedelta(days=1), warning_email_due_at=timezone.now()
    )
    claimed, locked = threading.Event(), threading.Event()
    original_claim = notices._claim_warnings

    def claim_then_pause(now, limit):
        ids, lease_until = original_claim(now, limit)
        claimed.set()
        assert locked.wait(10), "the revoke never took the row"
        return ids, lease_until

    monkeypatch.setattr(notices, "_claim_warnings", claim_then_pause)
    sender = Side(lambda: notices.warnings_send())
    sender.start()
    revoked = _revoke_while_the_other_side_waits(monkeypatch, message, claimed, locked)
    sender.join(20)
    assert sender.error is None, f"the sender failed: {sender.error!r}"
    assert revoked.state == Message.State.REVOKED
    message.refresh_from_db()
    assert message.state == Message.State.REVOKED and message.warning_email_due_at is None
    # The sender waited for the revoke's row lock, then saw the answer: nothing went out.
    assert sender.result["skipped"] == 1 and mail.outbox == []


def test_a_revoke_that_meets_the_delivery_sender_commits_and_nothing_is_delivered(owner, make_message, monkeypatch):
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(state=Message.State.DELIVERING, is_active=False)
    recipient = message.recipients.get()
    Delivery.objects.create(message=message, recipient=recipient, next_attempt_at=timezone.now())
    claimed, locked = threading.Event(), threading.Event()
    original_claim = leases.Lease.claim

    def claim_then_pause(lease, *args, **kwargs):
        claim = original_claim(lease, *args, **kwargs)
        claimed.set()
        assert locked.wait(10), "the revoke never took the row"
        return claim

    monkeypatch.setattr(leases.Lease, "claim", claim_then_pause)
    sender = Side(lambda: delivery.deliveries_send())
    sender.start()
    _revoke_while_the_other_side_waits(monkeypatch, message, claimed, locked)
    sender.join(20)
    assert sender.error is None, f"the sender failed: {sender.error!r}"
    message.refresh_from_db()
    assert message.state == Message.State.REVOKED
    # The sender's state check waited for the revoke's lock and saw it: never delivered.
    assert mail.outbox == [] and Delivery.objects.get().state == Delivery.State.CANCELLED
