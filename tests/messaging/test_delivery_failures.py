"""A failing delivery: transient ones are retried until they pass, permanent ones and late ones alarm staff.

The far ends are doubles: an SMTP relay (a Django e-mail backend raising smtplib's own
exceptions) and webhooks (``responses``). Staff are ``ADMINS``; their alarm goes through
Django's ``mail_admins`` into ``mail.outbox`` like any mail.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
import requests
import responses
import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.urls import reverse
from django.utils import timezone

from cradle_site import health
from messaging.channels import FailureKind
from messaging.models import Delivery, Message, StaffAlarm, StatusLog
from tests.clock import NOW
from tests.conftest import healthz_report
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db
HOOK = "https://hooks.example.com/cradle"
OPS = ("Ops", "ops@example.com")
RELAY: dict = {"down": False, "refuse": {}}


class RelayDouble(locmem.EmailBackend):
    """The SMTP relay: down for everyone (``RELAY["down"]``), or refusing some recipients
    with the code of our choosing (``RELAY["refuse"] = {address: (code, reason)}``)."""

    def send_messages(self, messages):
        if RELAY["down"]:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        for message in messages:
            refused = {to: RELAY["refuse"][to] for to in message.to if to in RELAY["refuse"]}
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def relay(settings):
    settings.EMAIL_BACKEND = "tests.messaging.test_delivery_failures.RelayDouble"
    settings.ADMINS = [OPS]
    RELAY.update(down=False, refuse={})
    yield RELAY
    RELAY.update(down=False, refuse={})


def _delivering(make_message, owner, recipients=None) -> Message:
    message = make_message(owner, recipients=recipients)
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)
    return message


def _to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def _run_until(clock, until) -> None:
    """The cluster, minute after minute (jumping to each next attempt), until ``until``."""
    while True:
        messaging_minute()
        now = timezone.now()
        due = Delivery.objects.filter(state=Delivery.State.PENDING).values_list("next_attempt_at", flat=True)
        step = max(min([*due, now + timedelta(hours=1)]), now + timedelta(minutes=1))
        if step > until:
            return
        clock.move_to(step)


def _strict(client) -> tuple[int, dict]:
    health.beat("publishing.publish")  # the other required job, so only messaging's state decides
    response = healthz_report(client, {"strict": "1"})
    return response.status_code, response.json()


def test_a_relay_down_for_three_days_ends_in_one_delivery(owner, make_message, relay, client):
    message = _delivering(make_message, owner)
    relay["down"] = True
    with time_machine.travel(NOW, tick=False) as clock:
        _run_until(clock, NOW + timedelta(days=3))
        delivery = Delivery.objects.get(message=message)
        assert delivery.state == Delivery.State.PENDING, "never given up while the failure is transient"
        assert delivery.attempts > 8
        assert delivery.next_attempt_at - timezone.now() <= timedelta(hours=6), "retried at the capped back-off"
        status, body = _strict(client)
        assert status == 503 and body["deliveries_needing_staff"]["ids"] == [delivery.pk]
        relay["down"] = False
        clock.move_to(delivery.next_attempt_at)
        messaging_minute()
        clock.shift(timedelta(hours=7))  # past the alarm e-mail's own back-off
        messaging_minute()
        status, _body = _strict(client)
    assert len(_to("rae@example.com")) == 1
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert status == 200
    # The overdue alarm raised during the outage could not be e-mailed, and the delivery went
    # out before the relay took it: nothing to tell staff any more.
    assert StaffAlarm.objects.get(delivery=delivery).state == StaffAlarm.State.RESOLVED
    assert _to(OPS[1]) == []


def test_smtp_550_for_the_address_is_permanent_not_retried_and_alarms_staff(owner, make_message, relay, client):
    recipients = [
        {"name": "Gone", "contact": "gone@example.com", "contact_type": "email"},
        {"name": "Rae", "contact": "rae@example.com", "contact_type": "email"},
    ]
    message = _delivering(make_message, owner, recipients)
    relay["refuse"] = {"gone@example.com": (550, b"5.1.1 <gone@example.com>: Recipient address rejected")}
    with time_machine.travel(NOW, tick=False) as clock:
        _run_until(clock, NOW + timedelta(days=3))
        status, body = _strict(client)
    gone = Delivery.objects.get(message=message, recipient__name="Gone")
    assert (gone.state, gone.attempts) == (Delivery.State.FAILED, 1), "refused for good: tried once"
    assert "550" in gone.last_error
    [alarm] = _to(OPS[1])
    assert f"Delivery #{gone.pk} of message #{message.pk}" in alarm.subject and "refused" in alarm.subject
    assert "550" in alarm.body and "the secret plan" not in alarm.body and "Gone" not in alarm.body
    assert status == 503 and body["deliveries_needing_staff"] == {"count": 1, "ids": [gone.pk]}
    # The other recipient got the message and nothing else; the owner hears nothing.
    assert [m.subject for m in _to("rae@example.com")] == [mail.outbox[0].subject]
    assert len(_to("rae@example.com")) == 1 and _to(owner.email) == []
    [failed] = StatusLog.objects.filter(message=message, status=StatusLog.Status.DELIVERY_FAILED)
    assert failed.data["error_kind"] == FailureKind.PERMANENT and failed.data["final"]
    assert "staff have been alerted" in failed.display_text


@pytest.mark.parametrize(
    "error, kind",
    [
        (smtplib.SMTPRecipientsRefused({"rae@example.com": (550, b"no such user")}), FailureKind.PERMANENT),
        (smtplib.SMTPRecipientsRefused({"rae@example.com": (450, b"mailbox busy")}), FailureKind.TRANSIENT),
        (smtplib.SMTPDataError(554, b"rejected for this recipient"), FailureKind.PERMANENT),
        (smtplib.SMTPDataError(451, b"try again later"), FailureKind.TRANSIENT),
        (smtplib.SMTPSenderRefused(550, b"our sender is not allowed", "cradle@localhost"), FailureKind.TRANSIENT),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), FailureKind.TRANSIENT),
        (smtplib.SMTPServerDisconnected("closed"), FailureKind.TRANSIENT),
        (ConnectionRefusedError("connection refused"), FailureKind.TRANSIENT),
        (TimeoutError("timed out"), FailureKind.TRANSIENT),
    ],
    ids=lambda value: value.__class__.__name__ if isinstance(value, Exception) else str(value),
)
def test_smtp_errors_are_permanent_only_when_they_refuse_the_address(owner, make_message, settings, error, kind):
    RAISING["error"] = error
    settings.EMAIL_BACKEND = "tests.messaging.test_delivery_failures.RaisingBackend"
    message = _delivering(make_message, owner)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
    delivery = Delivery.objects.get(message=message)
    expected = Delivery.State.FAILED if kind == FailureKind.PERMANENT else Delivery.State.PENDING
    assert delivery.state == expected
    assert StatusLog.objects.get(message=message, status=StatusLog.Status.DELIVERY_FAILED).data["error_kind"] == kind
    assert StaffAlarm.objects.filter(delivery=delivery).exists() == (kind == FailureKind.PERMANENT)


RAISING: dict = {}


class RaisingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise RAISING["error"]


@responses.activate
@pytest.mark.parametrize("status", [404, 410])
def test_a_webhook_that_is_gone_is_permanent(owner, make_message, status, client):
    message = _delivering(make_message, owner, [{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}])
    responses.post(HOOK, status=status)
    with time_machine.travel(NOW, tick=False) as clock:
        _run_until(clock, NOW + timedelta(days=2))
    delivery = Delivery.objects.get(message=message)
    assert (delivery.state, delivery.attempts) == (Delivery.State.FAILED, 1)
    assert len(responses.calls) == 1, "not retried by itself"
    assert len(_to(OPS[1])) == 1


@responses.activate
@pytest.mark.parametrize(
    "answer",
    [500, 502, 503, 429, 401, requests.ConnectionError("refused"), requests.ReadTimeout("slow")],
    ids=str,
)
def test_timeouts_and_5xx_webhooks_are_transient(owner, make_message, answer):
    message = _delivering(make_message, owner, [{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}])
    if isinstance(answer, Exception):
        responses.post(HOOK, body=answer)
    else:
        responses.post(HOOK, status=answer)
    with time_machine.travel(NOW, tick=False) as clock:
        _run_until(clock, NOW + timedelta(hours=12))
    delivery = Delivery.objects.get(message=message)
    assert delivery.state == Delivery.State.PENDING and delivery.attempts > 3
    assert not StaffAlarm.objects.exists()


@responses.activate
def test_a_delivery_not_sent_within_24_hours_alarms_staff_once(owner, make_message, client, staff):
    message = _delivering(make_message, owner, [{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}])
    responses.post(HOOK, status=503)
    with time_machine.travel(NOW, tick=False) as clock:
        _run_until(clock, NOW + timedelta(hours=23, minutes=50))
        assert _to(OPS[1]) == [] and _strict(client)[0] == 200, "not yet: a day of retries is normal"
        _run_until(clock, NOW + timedelta(days=3))
        for _minute in range(5):
            clock.shift(60)
            messaging_minute()
        status, body = _strict(client)
        client.force_login(staff)
        overdue = client.get(reverse("admin:messaging_delivery_changelist") + "?needs_staff=overdue")
        beats = client.get(reverse("admin:cradle_site_heartbeat_changelist"))
    delivery = Delivery.objects.get(message=message)
    [alarm] = _to(OPS[1])
    assert f"Delivery #{delivery.pk}" in alarm.subject and "24 h" in alarm.subject
    assert StaffAlarm.objects.get(delivery=delivery).reason == StaffAlarm.Reason.OVERDUE
    assert status == 503 and body["deliveries_needing_staff"]["ids"] == [delivery.pk]
    assert [d.pk for d in overdue.context["cl"].result_list] == [delivery.pk]
    assert "1 delivery(ies) need staff" in beats.content.decode()
    assert _to(owner.email) == []


def test_the_alarm_hours_are_a_setting(owner, make_message, relay, settings):
    settings.MESSAGING_DELIVERY_ALARM_HOURS = 2
    _delivering(make_message, owner)
    relay["down"] = True
    with time_machine.travel(NOW, tick=False) as clock:
        _run_until(clock, NOW + timedelta(hours=1, minutes=50))
        assert not StaffAlarm.objects.exists()
        _run_until(clock, NOW + timedelta(hours=2, minutes=10))
    assert StaffAlarm.objects.get().reason == StaffAlarm.Reason.OVERDUE
