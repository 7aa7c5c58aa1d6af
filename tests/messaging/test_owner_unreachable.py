"""The all-permanent rule: every contact refused the same warning for good for the grace period
(``MESSAGING_UNREACHABLE_GRACE_DAYS``, 7 days) -> the step counts as sent, staff alerted, history.

Against a real SMTP server (aiosmtpd) and the local Telegram Bot API double.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from messaging.models import Message, StaffAlarm, StatusLog
from tests.clock import NOW
from tests.jobs import messaging_minute
from tests.messaging.contact_doubles import telegram_contact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def seed(seed_ladder):
    return seed_ladder


D = timedelta(days=30)
GRACE = timedelta(days=7)


def _run(clock, when) -> None:
    clock.move_to(when, tick=False)
    messaging_minute()


def _unreachable(message):
    return message.status_logs.filter(status=StatusLog.Status.OWNER_UNREACHABLE)


def test_it_fires_at_exactly_seven_days_of_every_contact_refusing(owner, make_message, smtp, bot):
    smtp.refuse.add(owner.email)
    with time_machine.travel(NOW, tick=False) as clock:
        telegram_contact(owner, bot, "900")
        bot.blocked.add("900")
        message = make_message(owner)
        _run(clock, NOW + D)  # warning 1: the e-mail 550, Telegram 403
        hours = 0
        while NOW + D + timedelta(hours=hours) < NOW + D + GRACE - timedelta(minutes=1):
            hours += 6
            _run(clock, min(NOW + D + timedelta(hours=hours), NOW + D + GRACE - timedelta(minutes=1)))
        message.refresh_from_db()
        assert not _unreachable(message).exists(), "not before the grace has passed"
        assert message.warning_email_due_at is not None and message.warning_level == 1
        assert not StaffAlarm.objects.exists()
        _run(clock, NOW + D + GRACE)
        message.refresh_from_db()
        log = _unreachable(message).get()
        assert log.data["level"] == 1 and log.data["grace_days"] == 7
        assert sorted(log.data["contacts"]) == ["account", f"c{owner.owner_contacts.get().pk}"]
        assert log.data["since"] == (NOW + D).isoformat()
        assert message.warning_email_due_at is None
        assert message.next_warning_date == NOW + D + GRACE + timedelta(days=30), "the next interval starts now"
        alarm = StaffAlarm.objects.get()
        assert alarm.reason == StaffAlarm.Reason.UNREACHABLE and alarm.message_id == message.pk and alarm.level == 1
        assert alarm.state == StaffAlarm.State.SENT
        staff_mail = smtp.to("staff@ops.example.com")
        assert staff_mail and "unreachable on every channel" in staff_mail[-1]["Subject"]


def test_a_thirty_day_relay_outage_never_counts(owner, make_message, smtp, settings):
    settings.EMAIL_PORT = 1  # nothing listens there: every send is "couldn't reach the mail server"
    with time_machine.travel(NOW, tick=False) as clock:
        message = make_message(owner)
        for hours in range(0, 24 * 31, 12):
            _run(clock, NOW + D + timedelta(hours=hours))
        message.refresh_from_db()
        assert not _unreachable(message).exists() and not StaffAlarm.objects.exists()
        assert message.warning_level == 1 and message.warning_email_due_at is not None


def test_a_transient_failure_on_one_contact_starts_the_wait_again(owner, make_message, smtp, bot):
    smtp.refuse.add(owner.email)
    with time_machine.travel(NOW, tick=False) as clock:
        telegram_contact(owner, bot, "901")
        bot.down = True  # the Bot API answers 502 for the first 3 days
        message = make_message(owner)
        for hours in range(0, 24 * 3, 6):
            _run(clock, NOW + D + timedelta(hours=hours))
        bot.down = False
        bot.blocked.add("901")
        _run(clock, NOW + D + timedelta(days=3))  # now every contact refuses for good, from here
        _run(clock, NOW + D + GRACE + timedelta(hours=1))
        message.refresh_from_db()
        assert not _unreachable(message).exists(), (
            "7 days from the first refusal of an unbroken run, not from the first failure"
        )
        for hours in range(0, 24 * 4 + 1, 6):
            _run(clock, NOW + D + GRACE + timedelta(hours=1 + hours))
        assert _unreachable(message).exists()


def test_one_contact_that_still_works_means_no_unreachable(owner, make_message, smtp, bot):
    with time_machine.travel(NOW, tick=False) as clock:
        telegram_contact(owner, bot, "902")
        bot.blocked.add("902")
        message = make_message(owner, level=2)
        Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
        _run(clock, NOW)
        message.refresh_from_db()
        assert message.warning_level == 3 and message.warning_email_due_at is None  # the e-mail took it
        assert not _unreachable(message).exists()
