"""Warning e-mails: level, deadline, next step, the owner's language and time zone, a check-in link."""

from __future__ import annotations

import re
import smtplib
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.utils import formats, timezone, translation

from messaging import services
from messaging.models import Message
from messaging.notices import warnings_send
from tests.clock import NOW
from tests.conftest import healthz_report
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db


def test_the_warning_email_says_level_deadline_and_next_step_with_a_link(owner, make_message, seed_ladder):
    message = make_message(owner, months=1, title="For Rae")
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
        messaging_minute()
    [email] = mail.outbox
    assert email.to == [owner.email]
    assert "warning 1 of 5" in email.subject
    assert "For Rae" in email.body
    assert "the secret plan" not in email.body  # the content stays out of e-mail to the owner
    assert "next step happens on" in email.body
    links = re.findall(r"http://\S+/messages/check-in/\S+/", email.body)
    assert links
    html = email.alternatives[0][0]
    assert links[0].replace("&", "&amp;") in html or links[0] in html
    message.refresh_from_db()
    assert message.warning_email_due_at is None


def test_the_warning_email_is_in_the_owners_language_and_time_zone(owner, make_message, seed_ladder):
    owner.language = "zh-hans"
    owner.time_zone = "Asia/Shanghai"
    owner.save()
    message = make_message(owner, months=1)
    Message.objects.filter(pk=message.pk).update(warning_level=4, next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
    [email] = mail.outbox
    assert "Asia/Shanghai" in email.body
    # The deadline (NOW + 1 day, 12:00 UTC) is shown at 20:00 Shanghai time.
    assert "20:00" in email.body
    assert "最终" in email.subject


def test_a_failing_smtp_server_is_retried(owner, make_message, settings):
    settings.EMAIL_BACKEND = "tests.messaging.test_notices.BrokenBackend"
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
    message.refresh_from_db()
    assert message.warning_email_attempts == 1
    assert message.warning_email_due_at == NOW + timedelta(seconds=settings.MESSAGING_RETRY_BASE_SECONDS)
    assert message.warning_email_error == "Couldn't reach the mail server — Cradle will try again."
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        messaging_minute()
    message.refresh_from_db()
    assert message.warning_email_due_at is None and len(mail.outbox) == 1


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("connection refused")


class ResetOnFirstSendBackend(locmem.EmailBackend):
    """An SMTP double that is slow in a telling way: while the first warning goes out, the
    owner answers the other one (in a browser, another process: the same rows change)."""

    def send_messages(self, messages):
        for message in Message.objects.filter(warning_level=1).exclude(warning_email_due_at=None):
            if not mail.outbox and f"/messages/{message.pk}/" not in messages[0].body:
                services.message_reset(message=message)
        return super().send_messages(messages)


def test_an_answer_during_a_batch_stops_the_later_warning_of_that_batch(owner, make_message, settings):
    settings.EMAIL_BACKEND = "tests.messaging.test_notices.ResetOnFirstSendBackend"
    first, second = make_message(owner), make_message(owner)
    Message.objects.filter(pk__in=[first.pk, second.pk]).update(next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
    assert len(mail.outbox) == 1, "the warning for the message reset meanwhile must not go out"
    levels = dict(Message.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "warning_level"))
    answered = next(pk for pk in levels if f"/messages/{pk}/" not in mail.outbox[0].body)
    assert levels[answered] == 0
    assert Message.objects.get(pk=answered).warning_email_due_at is None


def test_a_warning_that_keeps_failing_is_never_given_up_and_healthz_says_so(
    owner, make_message, settings, client, staff
):
    settings.EMAIL_BACKEND = "tests.messaging.test_notices.BrokenBackend"
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
    when = NOW
    with time_machine.travel(NOW, tick=False) as clock:
        messaging_minute()
        for _attempt in range(24):
            message.refresh_from_db()
            when = message.warning_email_due_at
            clock.move_to(when)
            messaging_minute()
        message.refresh_from_db()
        assert message.warning_email_attempts == 1 + 24
        assert message.warning_level == 1, "the ladder waits for the warning"
        retry_in = message.warning_email_due_at - when
        assert retry_in == timedelta(seconds=settings.MESSAGING_RETRY_MAX_SECONDS), "retried at the capped back-off"
        health = healthz_report(client)
        assert health.json()["warning_emails_failing"] == 1
        assert client.get("/healthz?strict=1").status_code == 503, "a monitor that pages a person hears of it"
        client.force_login(staff)
        listed = client.get("/admin/messaging/message/?warning_email=failing")
        assert listed.context["cl"].result_count == 1

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        clock.move_to(message.warning_email_due_at)
        messaging_minute()
    assert len(mail.outbox) == 1
    assert healthz_report(client).json()["warning_emails_failing"] == 0


SLOW_SMTP: dict = {}


class SlowBackend(locmem.EmailBackend):
    """An SMTP relay so slow that a batch of three outlasts its lease (each e-mail takes 60%
    of it); after the second, another worker runs the same job."""

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        SLOW_SMTP["clock"].shift(SLOW_SMTP["lease"] * 0.6)
        if len(mail.outbox) == 2:
            SLOW_SMTP["other_worker_sent"] = warnings_send()["sent"]
        return sent


def test_warnings_of_a_batch_that_outlasts_its_lease_go_out_once(owner, make_message, settings):
    settings.EMAIL_BACKEND = "tests.messaging.test_notices.SlowBackend"
    messages = [make_message(owner) for _ in range(3)]
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False) as clock:
        SLOW_SMTP.update(clock=clock, lease=settings.MESSAGING_SEND_LEASE_SECONDS)
        messaging_minute()
    per_message = Counter(re.search(r"/messages/(\d+)/", m.body).group(1) for m in mail.outbox)
    assert sorted(per_message.values()) == [1, 1, 1], per_message
    assert SLOW_SMTP["other_worker_sent"] == 1, "the other worker took back the one the first had not reached"


class RelayDownBackend:
    """The relay is down: every send fails the way smtplib fails when it loses the server."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def _stated(at, owner) -> str:
    """``at`` as the warning e-mail writes it: to the minute, in the owner's language and time zone."""
    with translation.override(owner.language), timezone.override(owner.time_zone):
        return formats.date_format(timezone.localtime(at), "DATETIME_FORMAT")


@pytest.mark.parametrize(("level", "interval_days"), [(0, 30), (4, 1)])
def test_a_warning_delayed_by_a_relay_outage_states_the_deadline_the_ladder_keeps(
    owner, make_message, seed_ladder, settings, level, interval_days
):
    owner.time_zone = "Asia/Shanghai"
    owner.save()
    message = make_message(owner, months=1)
    Message.objects.filter(pk=message.pk).update(warning_level=level, next_warning_date=NOW)
    settings.EMAIL_BACKEND = "tests.messaging.test_notices.RelayDownBackend"
    with time_machine.travel(NOW, tick=False):
        messaging_minute()  # queued at NOW, the relay refuses it
    message.refresh_from_db()
    assert message.warning_level == level + 1 and message.warning_email_attempts == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    back = NOW + timedelta(days=3, minutes=7, seconds=30)  # the relay is back three days later
    with time_machine.travel(back, tick=False):
        messaging_minute()
    [email] = mail.outbox
    message.refresh_from_db()
    # The next step is the whole interval after the real send, and the e-mail says exactly that.
    assert message.next_warning_date >= back + timedelta(days=interval_days)
    # Not the deadline planned when it was queued (for the final warning: a date already past).
    assert _stated(NOW + timedelta(days=interval_days), owner) not in email.body
    assert f"the next step happens on {_stated(message.next_warning_date, owner)} (Asia/Shanghai)" in email.body
    assert message.next_warning_date.second == 0  # the e-mail states minutes: the ladder keeps minutes
    if level + 1 == 5:
        # The final warning names the delivery date: after the send, never already past.
        assert "final warning" in email.body
    else:
        delivery = message.next_warning_date + timedelta(days=30 + 7 + 1 + 1)
        assert f"delivered on {_stated(delivery, owner)} at the earliest" in email.body


def test_the_warning_email_says_its_link_needs_no_log_in_and_works_once(owner, make_message, seed_ladder):
    message = make_message(owner, months=1)
    Message.objects.filter(pk=message.pk).update(warning_level=1, next_warning_date=NOW, warning_email_due_at=NOW)
    with time_machine.travel(NOW, tick=False):
        warnings_send(now=NOW)
    [email] = mail.outbox
    assert "works without logging in and answers this warning once" in email.body
    assert "works without logging in" in email.alternatives[0][0]
