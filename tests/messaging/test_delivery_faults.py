"""Sends under faults: a batch killed midway, a webhook that answers too late, a batch out of
time, the database gone right after a send. Each recipient and each warning goes out once,
and no served message stays in ``delivering``."""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from contextlib import contextmanager
from datetime import timedelta
from http.client import RemoteDisconnected

import pytest
import requests
import responses
import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.db import OperationalError, connection
from django.utils import timezone
from standardwebhooks import Webhook
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from cradle_site.errors import StateError
from messaging import services, tasks
from messaging.delivery import deliveries_send
from messaging.models import Delivery, Message, MessageBody, Recipient, StatusLog
from messaging.notices import warnings_send
from messaging.sweep import sweep_due
from tests.clock import NOW
from tests.conftest import run_python

pytestmark = pytest.mark.django_db
HOOK = "https://hooks.example.com/cradle"


def _to(name: str, contact: str, contact_type: str = "email") -> dict:
    return {"name": name, "contact": contact, "contact_type": contact_type}


def _start_delivery(*messages) -> None:
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(warning_level=5, next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        sweep_due()


def _statuses(message) -> list[str]:
    return list(StatusLog.objects.filter(message=message).values_list("status", flat=True))


class WorkerKilled(BaseException):
    """What a SIGKILL or django-q's timeout does to a batch: nothing after this line runs."""


class KilledOnSecondRecipientBackend(locmem.EmailBackend):
    def send_messages(self, messages):
        if messages[0].to == ["second@example.com"]:
            raise WorkerKilled
        return super().send_messages(messages)


def test_a_batch_killed_after_a_messages_last_delivery_leaves_that_message_delivered(owner, make_message, settings):
    settings.EMAIL_BACKEND = "tests.messaging.test_delivery_faults.KilledOnSecondRecipientBackend"
    first = make_message(owner, recipients=[_to("One", "first@example.com")])
    second = make_message(owner, recipients=[_to("Two", "second@example.com")])
    _start_delivery(first, second)
    with time_machine.travel(NOW, tick=False), pytest.raises(WorkerKilled):
        deliveries_send()
    first.refresh_from_db()
    assert [m.to for m in mail.outbox] == [["first@example.com"]]
    assert (first.state, first.delivered_at) == (Message.State.DELIVERED, NOW)
    assert _statuses(first) == ["DELIVERED"]
    assert Message.objects.get(pk=second.pk).state == Message.State.DELIVERING  # its worker died mid-send


def test_the_sweep_completes_a_message_left_delivering_with_every_recipient_served(owner, make_message):
    served = make_message(owner, recipients=[_to("A", "a@example.com"), _to("B", "b@example.com")])
    half = make_message(owner, recipients=[_to("C", "c@example.com"), _to("D", "d@example.com")])
    _start_delivery(served, half)
    # A worker recorded the sends and died before the message was completed (or code before this fix did).
    last = NOW + timedelta(minutes=3)
    Delivery.objects.filter(message=served).update(state="sent", delivered_at=NOW)
    Delivery.objects.filter(message=served, recipient__name="B").update(delivered_at=last)
    Delivery.objects.filter(message=half, recipient__name="C").update(state="sent", delivered_at=NOW)
    Delivery.objects.filter(message=half, recipient__name="D").update(state="failed")
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert tasks.sweep()["completed"] == 1
        assert tasks.sweep()["completed"] == 0  # run again, or by a second worker: DELIVERED once
    served.refresh_from_db()
    assert (served.state, served.delivered_at) == (Message.State.DELIVERED, last)
    assert _statuses(served) == ["DELIVERED"]
    assert StatusLog.objects.get(message=served).data["recipients"] == 2
    assert Message.objects.get(pk=half.pk).state == Message.State.DELIVERING  # D is still owed it


def test_a_revoke_of_a_message_every_recipient_has_is_refused_and_logs_nothing(owner, make_message):
    message = make_message(owner, recipients=[_to("A", "a@example.com"), _to("B", "b@example.com")])
    _start_delivery(message)
    Delivery.objects.filter(message=message).update(state="sent", delivered_at=NOW)
    with pytest.raises(StateError, match="already been delivered"):
        services.message_revoke(message=Message.objects.get(pk=message.pk))
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERING and message.revoked_at is None
    assert _statuses(message) == []
    assert set(Delivery.objects.filter(message=message).values_list("state", flat=True)) == {"sent"}


def test_a_revoke_while_some_recipients_still_wait_is_taken(owner, make_message):
    message = make_message(owner, recipients=[_to("A", "a@example.com"), _to("B", "b@example.com")])
    _start_delivery(message)
    Delivery.objects.filter(message=message, recipient__name="A").update(state="sent", delivered_at=NOW)
    services.message_revoke(message=Message.objects.get(pk=message.pk))
    assert _statuses(message) == ["REVOKED"]
    states = dict(Delivery.objects.filter(message=message).values_list("recipient__name", "state"))
    assert states == {"A": "sent", "B": "cancelled"}


@responses.activate
def test_a_webhook_answering_after_the_timeout_is_sent_again_with_the_same_webhook_id(owner, make_message, settings):
    message = make_message(owner, recipients=[_to("Hook", HOOK, "webhook")])
    _start_delivery(message)
    seen = []

    def late_then_fine(request):
        seen.append(request)
        if len(seen) == 1:
            raise requests.exceptions.ReadTimeout("read timed out")  # the receiver got it and was slow
        return 200, {}, ""

    responses.add_callback(responses.POST, HOOK, callback=late_then_fine)
    with time_machine.travel(NOW, tick=False) as clock:
        assert deliveries_send() == {"sent": 0, "failed": 1}
        [failed] = StatusLog.objects.filter(message=message, status=StatusLog.Status.DELIVERY_FAILED)
        assert failed.data["maybe_sent"] is True
        assert "may have arrived" in failed.display_text and "same delivery id" in failed.display_text
        clock.move_to(Delivery.objects.get(message=message).next_attempt_at)
        assert deliveries_send() == {"sent": 1, "failed": 0}
    first, second = (request.headers for request in seen)
    delivery = Delivery.objects.get(message=message)
    assert first["webhook-id"] == second["webhook-id"] == str(delivery.uid)
    secret = Recipient.objects.get(message=message).webhook_secret
    for request in seen:
        # Each attempt verifies at its own time: the timestamp is the attempt's, the id the delivery's.
        with time_machine.travel(int(request.headers["webhook-timestamp"]), tick=False):
            Webhook(secret).verify(request.body, dict(request.headers))
    assert int(second["webhook-timestamp"]) > int(first["webhook-timestamp"])  # each attempt signs its own time
    assert Message.objects.get(pk=message.pk).state == Message.State.DELIVERED


def test_each_recipient_has_its_own_delivery_id(owner, make_message):
    message = make_message(owner, recipients=[_to("A", "a@example.com"), _to("B", "b@example.com")])
    _start_delivery(message)
    with time_machine.travel(NOW, tick=False):
        deliveries_send()
    ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    uids = Delivery.objects.filter(message=message).values_list("uid", flat=True)
    assert len(ids) == 2 and all(any(str(uid) in mid for mid in ids) for uid in uids)


@responses.activate
@pytest.mark.parametrize(
    ("error", "maybe_sent"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), True),
        (requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected())), True),
        (requests.exceptions.ConnectTimeout("connect timed out"), False),
        (requests.exceptions.ConnectionError(MaxRetryError(None, HOOK, NewConnectionError(None, "refused"))), False),
    ],
    ids=["read-timeout", "dropped-while-waiting", "connect-timeout", "refused"],
)
def test_only_a_failure_after_the_request_left_may_have_arrived(owner, make_message, error, maybe_sent):
    message = make_message(owner, recipients=[_to("Hook", HOOK, "webhook")])
    _start_delivery(message)
    responses.add_callback(responses.POST, HOOK, callback=lambda request: (_ for _ in ()).throw(error))
    with time_machine.travel(NOW, tick=False):
        deliveries_send()
    [failed] = StatusLog.objects.filter(message=message, status=StatusLog.Status.DELIVERY_FAILED)
    assert failed.data["maybe_sent"] is maybe_sent
    assert ("may have arrived" in failed.display_text) is maybe_sent
    assert Delivery.objects.get(message=message).state == Delivery.State.PENDING  # retried either way


@responses.activate
def test_a_batch_out_of_time_gives_back_the_deliveries_it_did_not_start(owner, make_message):
    hooks = [f"{HOOK}/{name}" for name in ("one", "two", "three")]
    message = make_message(owner, recipients=[_to(f"R{i}", url, "webhook") for i, url in enumerate(hooks)])
    _start_delivery(message)

    def slow(request):
        time.sleep(0.3)
        return 200, {}, ""

    for url in hooks:
        responses.add_callback(responses.POST, url, callback=slow)
    with time_machine.travel(NOW, tick=False):
        assert deliveries_send(run_seconds=0.2) == {"sent": 1, "failed": 0}
        left = Delivery.objects.filter(message=message).exclude(state="sent")
        assert [(d.state, d.lease_until, d.attempts, d.next_attempt_at) for d in left] == [
            ("pending", None, 0, NOW)
        ] * 2
        assert deliveries_send(run_seconds=10) == {"sent": 2, "failed": 0}  # due again at once, no lease to wait out
    assert len(responses.calls) == 3
    assert Message.objects.get(pk=message.pk).state == Message.State.DELIVERED


class SlowBackend(locmem.EmailBackend):
    def send_messages(self, messages):
        time.sleep(0.3)
        return super().send_messages(messages)


def _warnings_due(owner, make_message, count: int) -> list[Message]:
    messages = [make_message(owner) for _ in range(count)]
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        sweep_due()
    return messages


def test_a_warning_batch_out_of_time_gives_back_the_warnings_it_did_not_start(owner, make_message, settings):
    settings.EMAIL_BACKEND = "tests.messaging.test_delivery_faults.SlowBackend"
    messages = _warnings_due(owner, make_message, 3)
    with time_machine.travel(NOW, tick=False):
        assert warnings_send(run_seconds=0.2)["sent"] == 1
        due = Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("warning_email_due_at", flat=True)
        assert sorted(due, key=str) == [NOW, NOW, None]  # due again at once, not at the end of a lease
        assert warnings_send(run_seconds=10)["sent"] == 2
    assert len(mail.outbox) == 3


@contextmanager
def database_gone_for(times: int, *, table: str, marker: str):
    """The first ``times`` UPDATEs of ``table`` whose SQL names ``marker`` fail as if MariaDB just died."""
    failures = []

    def wrapper(execute, sql, params, many, context):
        if sql.startswith(f'UPDATE "{table}"') or sql.startswith(f"UPDATE `{table}`"):
            if marker in sql and len(failures) < times:
                failures.append(sql)
                raise OperationalError(2006, "MySQL server has gone away")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield failures


def test_a_delivery_whose_record_fails_twice_after_the_send_is_not_sent_again(owner, make_message, settings):
    settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS = 10
    message = make_message(owner)
    _start_delivery(message)
    with time_machine.travel(NOW, tick=False):
        with database_gone_for(2, table="messaging_delivery", marker="delivered_at") as failures:
            assert deliveries_send() == {"sent": 1, "failed": 0}
        assert len(failures) == 2
    with time_machine.travel(NOW + timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS + 1), tick=False):
        deliveries_send()  # a lease left behind would be taken back and sent here
    assert [m.to for m in mail.outbox] == [["rae@example.com"]]
    assert Delivery.objects.get(message=message).state == Delivery.State.SENT
    assert _statuses(message) == ["DELIVERED"]


def test_a_warning_whose_record_fails_twice_after_the_send_is_not_sent_again(owner, make_message, settings):
    settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS = 10
    [message] = _warnings_due(owner, make_message, 1)
    with time_machine.travel(NOW, tick=False):
        with database_gone_for(2, table="messaging_message", marker="next_warning_date") as failures:
            assert warnings_send()["sent"] == 1
        assert len(failures) == 2
    with time_machine.travel(NOW + timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS + 1), tick=False):
        warnings_send()
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert Message.objects.get(pk=message.pk).warning_email_due_at is None


def test_a_record_that_keeps_failing_gives_the_row_up_to_its_lease(owner, make_message, settings):
    settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS = 0
    message = make_message(owner)
    _start_delivery(message)
    with time_machine.travel(NOW, tick=False):
        with database_gone_for(1, table="messaging_delivery", marker="delivered_at"), pytest.raises(OperationalError):
            deliveries_send()
    delivery = Delivery.objects.get(message=message)
    assert delivery.state == Delivery.State.SENDING and delivery.lease_until is not None


class SigkillOnSecondRecipientBackend(locmem.EmailBackend):
    """Used in a child process: the worker is SIGKILLed while it sends to the second recipient."""

    def send_messages(self, messages):
        if messages[0].to == ["second@example.com"]:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().send_messages(messages)


SIGKILLED_WORKER = r"""
from django.conf import settings
from messaging.delivery import deliveries_send
settings.EMAIL_BACKEND = "tests.messaging.test_delivery_faults.SigkillOnSecondRecipientBackend"
deliveries_send()
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_sigkilled_mid_batch_leaves_the_message_it_served_delivered(owner, make_message):
    first = make_message(owner, recipients=[_to("One", "first@example.com")])
    second = make_message(owner, recipients=[_to("Two", "second@example.com")])
    Message.objects.filter(pk__in=[first.pk, second.pk]).update(warning_level=5, next_warning_date=timezone.now())
    sweep_due()
    child = run_python(SIGKILLED_WORKER)
    _out, err = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, err[-3000:]
    first.refresh_from_db()
    assert first.state == Message.State.DELIVERED and first.delivered_at is not None
    assert _statuses(first) == ["DELIVERED"]
    assert Delivery.objects.get(message=second).state == Delivery.State.SENDING  # the lease takes it back


TWO_RECIPIENTS, WORKERS = 150, 4
SENDING_WORKER = r"""
import json
from django.core import mail
from messaging.delivery import deliveries_send
while sum(deliveries_send(limit=1).values()):
    pass
print(json.dumps([m.to[0] for m in getattr(mail, "outbox", [])]))
"""


@pytest.mark.mariadb_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_workers_sending_a_messages_last_deliveries_at_once_complete_it_once(owner):
    """Each message's two deliveries are claimed one at a time by four processes, so the two often
    go out at the same moment from two workers: each message must still end DELIVERED once
    (without the message row lock in ``_record_sent``, a few of 150 stayed in ``delivering``)."""
    now = timezone.now()
    Message.objects.bulk_create(
        [
            Message(
                owner=owner,
                initial_delay_months=1,
                next_warning_date=now,
                warning_level=5,
                revocation_key_hash=secrets.token_hex(32),
            )
            for _ in range(TWO_RECIPIENTS)
        ]
    )
    ids = list(Message.objects.values_list("id", flat=True))
    MessageBody.objects.bulk_create([MessageBody(message_id=pk, content="text") for pk in ids])
    Recipient.objects.bulk_create(
        [Recipient(message_id=pk, name=f"{n}{pk}", contact=f"{n}{pk}@example.com") for pk in ids for n in "ab"]
    )
    sweep_due()
    children = [run_python(SENDING_WORKER) for _ in range(WORKERS)]
    sent = []
    for child in children:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err[-3000:]
        sent += json.loads(out.strip().splitlines()[-1])
    assert len(sent) == len(set(sent)) == 2 * TWO_RECIPIENTS
    assert Message.objects.filter(state=Message.State.DELIVERED).count() == TWO_RECIPIENTS
    assert StatusLog.objects.filter(status=StatusLog.Status.DELIVERED).count() == TWO_RECIPIENTS
