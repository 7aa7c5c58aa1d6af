"""An owner whose account e-mail is not verified gets no warning, and the ladder waits (promise 1).

Run on SQLite and on MariaDB (``DATABASE_URL=mysql://...``): the hold and the release are
conditional writes on the message row, like the rest of the outbox.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts.email_verification import email_verification_token, email_verify
from accounts.models import User
from messaging.models import Delivery, Message
from messaging.notices import warnings_failing
from messaging.owner_contacts import hold_seconds, warnings_held
from tests.accounts.admin_forms import admin_user_change
from tests.clock import NOW
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(make_user) -> User:
    return make_user(username="nell", email="nell@exampel.com", password="pw-nell-123!", verified=False)


def _warnings_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to and "warning" in m.subject.lower()]


def _run_every_hour(start, hours: int) -> None:
    for hour in range(hours):
        with time_machine.travel(start + timedelta(hours=hour), tick=False):
            messaging_minute()


def test_it_sends_no_warning_to_an_unverified_address_and_the_ladder_waits(newcomer, make_message, seed_ladder):
    with time_machine.travel(NOW, tick=False):
        message = make_message(newcomer, months=1)
    # Well past the whole ladder (30 + 69 days), a job run every day.
    for day in range(0, 120):
        with time_machine.travel(NOW + timedelta(days=day, minutes=1), tick=False):
            messaging_minute()
    message.refresh_from_db()
    assert _warnings_to(newcomer.email) == []
    assert message.state == Message.State.ACTIVE
    assert message.warning_level == 1  # queued at its first step, never past it
    assert message.warning_email_due_at is not None  # still waiting in the outbox
    assert not Delivery.objects.filter(message=message).exists()
    assert list(warnings_held().values_list("pk", flat=True)) == [message.pk]
    # A held warning is the owner's to fix, not the relay's: /healthz?strict=1 stays quiet.
    assert warnings_failing() == 0


def test_it_sends_the_held_warning_at_once_when_the_owner_verifies(
    newcomer, make_message, seed_ladder, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        message = make_message(newcomer, months=1)
    held_at = NOW + timedelta(days=31)
    with time_machine.travel(held_at, tick=False):
        messaging_minute()
        assert _warnings_to(newcomer.email) == []
    # Well before the hold's own re-check (hold_seconds), so only the release can send it now.
    verified_at = held_at + timedelta(minutes=10)
    assert timedelta(seconds=hold_seconds()) > timedelta(minutes=20)
    with time_machine.travel(verified_at, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            email_verify(user=newcomer, token=email_verification_token(newcomer))
        messaging_minute()  # released by the verification: sent in the next minute, not hours later
    [warning] = _warnings_to(newcomer.email)
    assert "warning 1 of 5" in warning.subject
    message.refresh_from_db()
    assert message.warning_email_due_at is None
    # The next step is timed from the warning actually sent, not from when it was queued.
    assert message.next_warning_date >= verified_at + timedelta(days=30)


def test_without_the_verification_the_held_warning_waits_for_its_recheck(newcomer, make_message, seed_ladder):
    with time_machine.travel(NOW, tick=False):
        message = make_message(newcomer, months=1)
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        messaging_minute()
    message.refresh_from_db()
    assert message.warning_email_due_at == NOW + timedelta(days=31) + timedelta(seconds=hold_seconds())


def test_a_verified_owner_is_warned_as_before(owner, make_message, seed_ladder):
    with time_machine.travel(NOW, tick=False):
        make_message(owner, months=1)
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        messaging_minute()
    assert len(_warnings_to(owner.email)) == 1


def test_an_address_staff_changed_is_unverified_and_holds_the_next_warning(
    client, owner, staff, make_message, seed_ladder, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        message = make_message(owner, months=1)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_user_change(client, owner, email="alice@typo.example")
    assert response.status_code == 302, response.context["adminform"].form.errors
    owner.refresh_from_db()
    assert owner.email == "alice@typo.example" and owner.email_verified_at is None
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        messaging_minute()
    assert _warnings_to("alice@typo.example") == [] and _warnings_to("alice@example.com") == []
    message.refresh_from_db()
    assert message.warning_email_due_at is not None


def test_the_admin_lists_held_warnings(client, staff, newcomer, make_message, seed_ladder):
    with time_machine.travel(NOW, tick=False):
        message = make_message(newcomer, months=1)
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        messaging_minute()
    client.force_login(staff)
    response = client.get(reverse("admin:messaging_message_changelist"), {"warning_email": "unverified"})
    assert [m.pk for m in response.context["cl"].result_list] == [message.pk]
    users = client.get(reverse("admin:accounts_user_changelist"), {"email_verified": "no"})
    assert [u.pk for u in users.context["cl"].result_list] == [newcomer.pk]
