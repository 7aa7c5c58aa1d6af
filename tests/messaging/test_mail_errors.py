"""A failed e-mail tells the user a plain sentence and a kind; the relay's words go to the log.

Every path that stores an e-mail error is walked with errors that carry what must not leak
(the internal relay's name, a server path, the exception's repr): a delivery's
``last_error`` and history, a warning's ``warning_email_error``, a staff alarm's
``last_error``; and every place that shows them: the owner's message page, the history
API, the admin pages of the message, the delivery and the alarm, the alarm e-mail and
``/healthz``'s report.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
import ssl
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import BadHeaderError
from django.urls import reverse

from cradle_site.mail_errors import MailKind, mail_failure
from messaging.channels import FailureKind
from messaging.models import Delivery, Message, StaffAlarm, StatusLog
from tests.clock import NOW
from tests.conftest import healthz_report, make_api_client
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db

RELAY = "internal-relay.corp"
SECRET_PATH = "/var/spool/postfix/private"

# (the exception, its kind, the sentence the user reads)
ERRORS = [
    (
        smtplib.SMTPRecipientsRefused(
            {"rae@example.com": (550, f"5.1.1 <rae@example.com>: rejected by {RELAY} ({SECRET_PATH})".encode())}
        ),
        MailKind.ADDRESS_REFUSED,
        "The mail server refused this address (550).",
    ),
    (
        smtplib.SMTPRecipientsRefused({"rae@example.com": (451, f"4.7.1 greylisted by {RELAY}".encode())}),
        MailKind.ADDRESS_DEFERRED,
        "The mail server turned this address away for now (451) — Cradle will try again.",
    ),
    (
        smtplib.SMTPDataError(554, f"5.7.1 message refused by {RELAY} queue 4F3A2".encode()),
        MailKind.MESSAGE_REFUSED,
        "The mail server refused this message (554).",
    ),
    (
        smtplib.SMTPDataError(452, f"4.3.1 {RELAY} out of storage at {SECRET_PATH}".encode()),
        MailKind.MESSAGE_DEFERRED,
        "The mail server put this message off (452) — Cradle will try again.",
    ),
    (
        smtplib.SMTPSenderRefused(553, f"5.7.1 sender not owned, {RELAY}".encode(), "cradle@localhost"),
        MailKind.RELAY_SETTINGS,
        "The mail server refused Cradle's sender or log-in (553) — staff must check the mail settings.",
    ),
    (
        smtplib.SMTPAuthenticationError(535, f"5.7.8 bad credentials for cradle at {RELAY}".encode()),
        MailKind.RELAY_SETTINGS,
        "The mail server refused Cradle's sender or log-in (535) — staff must check the mail settings.",
    ),
    (
        smtplib.SMTPConnectError(421, f"{RELAY} service not available".encode()),
        MailKind.UNREACHABLE,
        "Couldn't reach the mail server — Cradle will try again.",
    ),
    (
        smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed by {RELAY}"),
        MailKind.UNREACHABLE,
        "Couldn't reach the mail server — Cradle will try again.",
    ),
    (
        ConnectionRefusedError(111, "Connection refused"),
        MailKind.UNREACHABLE,
        "Couldn't reach the mail server — Cradle will try again.",
    ),
    (
        socket.gaierror(-2, f"Name or service not known: {RELAY}"),
        MailKind.UNREACHABLE,
        "Couldn't reach the mail server — Cradle will try again.",
    ),
    (
        OSError(113, "No route to host"),
        MailKind.UNREACHABLE,
        "Couldn't reach the mail server — Cradle will try again.",
    ),
    (
        TimeoutError(f"timed out connecting to {RELAY}:25"),
        MailKind.TIMEOUT,
        "The mail server took too long to answer — Cradle will try again.",
    ),
    (
        ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] hostname mismatch for {RELAY}"),
        MailKind.TLS,
        "Couldn't make a secure connection to the mail server — Cradle will try again.",
    ),
    (
        smtplib.SMTPNotSupportedError(f"STARTTLS extension not supported by {RELAY}"),
        MailKind.TLS,
        "Couldn't make a secure connection to the mail server — Cradle will try again.",
    ),
    (
        BadHeaderError(f"Header values can't contain newlines (got 'x\\n{RELAY}')"),
        MailKind.INVALID_MESSAGE,
        "This message could not be made into an e-mail.",
    ),
    (
        RuntimeError(f"{SECRET_PATH}/smtp.py: {RELAY} said no"),
        MailKind.FAILED,
        "The e-mail could not be sent — Cradle will try again.",
    ),
]
IDS = [f"{e.__class__.__name__}-{kind}" for e, kind, _s in ERRORS]
PERMANENT = {MailKind.ADDRESS_REFUSED, MailKind.MESSAGE_REFUSED, MailKind.INVALID_MESSAGE}

RAISING: dict = {}


class RaisingBackend:
    """The relay: every mail (deliveries, warnings, staff alarms) fails with ``RAISING["error"]``."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise RAISING["error"]


def _leaks(text: str, error: BaseException) -> list[str]:
    found = []
    for needle in (RELAY, SECRET_PATH, "/var/", "/srv/", error.__class__.__name__, "b'", "Errno", "(111", "errno"):
        if needle in text:
            found.append(needle)
    return found


@pytest.fixture
def failing_relay(settings):
    settings.EMAIL_BACKEND = "tests.messaging.test_mail_errors.RaisingBackend"
    settings.ADMINS = [("Ops", "ops@example.com")]
    yield RAISING
    RAISING.clear()


@pytest.mark.parametrize(("error", "kind", "sentence"), ERRORS, ids=IDS)
def test_it_turns_each_error_into_its_kind_and_sentence_and_logs_the_full_text(error, kind, sentence, caplog):
    with caplog.at_level(logging.WARNING, logger="cradle_site.mail"):
        failure = mail_failure(error, what="delivery 7")
    assert (failure.kind, str(failure), failure.permanent) == (kind, sentence, kind in PERMANENT)
    assert _leaks(sentence, error) == []
    assert "delivery 7" in caplog.text and error.__class__.__name__ in caplog.text  # the operator's copy


@pytest.mark.parametrize(("error", "kind", "sentence"), ERRORS, ids=IDS)
def test_a_failed_delivery_shows_the_sentence_everywhere_and_never_the_relays_words(
    failing_relay, owner, staff, make_message, client, error, kind, sentence
):
    failing_relay["error"] = error
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
        messaging_minute()  # the staff alarm's job too, for a refusal
    delivery = Delivery.objects.get(message=message)
    assert delivery.last_error == f"e-mail: {sentence}"
    failed = StatusLog.objects.get(message=message, status=StatusLog.Status.DELIVERY_FAILED)
    expected = FailureKind.PERMANENT if kind in PERMANENT else FailureKind.TRANSIENT
    assert (failed.data["error_kind"], failed.data["error"]) == (expected, f"e-mail: {sentence}")
    shown = [delivery.last_error, failed.details, json.dumps(failed.data, ensure_ascii=False), failed.display_text]
    alarm = StaffAlarm.objects.filter(delivery=delivery).first()
    assert (alarm is not None) == (kind in PERMANENT)
    if alarm is not None:
        assert alarm.attempts >= 1 and alarm.last_error == sentence  # the alarm's own e-mail failed the same way
        shown.append(alarm.last_error)

    client.force_login(owner)
    shown.append(client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode())
    api = make_api_client(owner, ["messages:read"])
    shown.append(api.get(f"/api/v1/messages/{message.pk}/history").content.decode())
    client.force_login(staff)
    shown.append(client.get(reverse("admin:messaging_delivery_change", args=[delivery.pk])).content.decode())
    shown.append(client.get(reverse("admin:messaging_delivery_changelist")).content.decode())
    shown.append(client.get(reverse("admin:messaging_statuslog_change", args=[failed.pk])).content.decode())
    if alarm is not None:
        shown.append(client.get(reverse("admin:messaging_staffalarm_change", args=[alarm.pk])).content.decode())
    shown.append(healthz_report(client, {"strict": "1"}).content.decode())
    for text in shown:
        assert _leaks(text, error) == [], text[:3000]
    assert any(sentence in text or sentence.replace("'", "&#x27;") in text for text in shown[-6:])


@pytest.mark.parametrize(("error", "kind", "sentence"), ERRORS, ids=IDS)
def test_a_failed_warning_shows_the_sentence_and_never_the_relays_words(
    failing_relay, owner, staff, make_message, client, error, kind, sentence
):
    failing_relay["error"] = error
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
    message.refresh_from_db()
    assert message.warning_email_attempts == 1
    assert message.warning_email_error == sentence
    client.force_login(owner)
    shown = [
        message.warning_email_error,
        client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode(),
    ]
    client.force_login(staff)
    shown.append(client.get(reverse("admin:messaging_message_change", args=[message.pk])).content.decode())
    shown.append(client.get(reverse("admin:messaging_message_changelist") + "?warning_email=failing").content.decode())
    shown.append(healthz_report(client, {"strict": "1"}).content.decode())
    for text in shown:
        assert _leaks(text, error) == [], text[:3000]


def test_the_alarm_e_mail_names_the_sentence_not_the_relay(settings, owner, make_message):
    """The staff alarm quotes the delivery's last error: the sentence, once the relay is back."""
    failing = smtplib.SMTPRecipientsRefused({"rae@example.com": (550, f"5.1.1 unknown at {RELAY}".encode())})
    settings.EMAIL_BACKEND = "tests.messaging.test_mail_errors.RaisingBackend"
    settings.ADMINS = [("Ops", "ops@example.com")]
    RAISING["error"] = failing
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False) as clock:
        messaging_minute()
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        clock.move_to(NOW + timedelta(hours=1))  # past the alarm's back-off
        messaging_minute()
    RAISING.clear()
    [alarm] = [m for m in mail.outbox if "ops@example.com" in m.to]
    assert "The mail server refused this address (550)." in alarm.body
    assert _leaks(alarm.subject + alarm.body, failing) == []
