"""A reset never commits while a warning of the cycle it ends is being sent (promise 3).

Found by the three-process simulation: a sender renewed its lease, a reset committed while it
talked to the relay, and the old cycle's warning reached the owner after "I'm still here" was
confirmed. Now the send is marked (``warning_email_sending_until``); a reset waits for it, or
says "try again" with nothing saved.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import mail
from django.core.mail.backends import locmem
from django.urls import reverse

from cradle_site.errors import Busy
from messaging import owner_contacts, services
from messaging.models import Message, StatusLog
from messaging.notices import warnings_send
from tests.clock import NOW

BACKEND = f"{__name__}.HookedBackend"


class HookedBackend(locmem.EmailBackend):
    """locmem, with ``during`` called while the relay "talks" (before the e-mail is accepted)."""

    during = None

    def send_messages(self, messages):
        if HookedBackend.during is not None:
            HookedBackend.during()
        return super().send_messages(messages)


@pytest.fixture
def hooked(settings):
    settings.EMAIL_BACKEND = BACKEND
    yield HookedBackend
    HookedBackend.during = None


def _warning_due(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(warning_level=1, next_warning_date=NOW, warning_email_due_at=NOW)


@pytest.mark.django_db
def test_a_reset_during_the_send_is_refused_with_nothing_saved_then_goes_through(owner, make_message, hooked, settings):
    settings.MESSAGING_ANSWER_WAIT_SECONDS = 0
    message = make_message(owner)
    _warning_due(message)
    seen = []

    def reset_now():
        with pytest.raises(Busy):
            services.message_reset(message=Message.objects.get(pk=message.pk))
        seen.append(Message.objects.get(pk=message.pk))

    hooked.during = reset_now
    with time_machine.travel(NOW, tick=False):
        assert warnings_send(now=NOW)["sent"] == 1
    [during] = seen
    assert (during.warning_level, during.warning_email_sending_until is not None) == (1, True)
    assert not StatusLog.objects.filter(message=message, status=StatusLog.Status.WARNING_RESET).exists()
    [email] = mail.outbox
    assert "warning 1 of 5" in email.subject
    after = Message.objects.get(pk=message.pk)
    assert after.warning_email_sending_until is None  # the send's record ends the mark
    hooked.during = None
    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        services.message_reset(message=after)
    after.refresh_from_db()
    assert (after.warning_level, after.warning_email_due_at) == (0, None)


@pytest.mark.django_db
def test_the_page_says_try_again_and_the_api_answers_503_during_the_send(
    owner, make_message, hooked, settings, client, api_client_for
):
    settings.MESSAGING_ANSWER_WAIT_SECONDS = 0
    message = make_message(owner)
    _warning_due(message)
    client.force_login(owner)
    api_client = api_client_for(owner, ["messages:read", "messages:write"])
    answers = {}

    def answer_both():
        page = client.post(reverse("messaging:message_action", args=[message.pk, "reset"]))
        answers["page"] = [str(m) for m in get_messages(page.wsgi_request)]
        api = api_client.post(f"/api/v1/messages/{message.pk}/reset/")
        answers["api"] = (api.status_code, api.headers.get("Retry-After"))

    hooked.during = answer_both
    with time_machine.travel(NOW, tick=False):
        warnings_send(now=NOW)
    assert any("try again" in text.lower() for text in answers["page"]), answers
    assert answers["api"][0] == 503 and answers["api"][1]
    assert Message.objects.get(pk=message.pk).warning_level == 1


@pytest.mark.django_db
def test_a_mark_left_by_a_sender_that_died_does_not_block_a_reset_for_long(owner, make_message, settings):
    settings.MESSAGING_ANSWER_WAIT_SECONDS = 0
    message = make_message(owner, level=1)
    # The sender died mid-send: its mark stays until the send's own deadline.
    Message.objects.filter(pk=message.pk).update(warning_email_sending_until=NOW + timedelta(minutes=2))
    with time_machine.travel(NOW, tick=False), pytest.raises(Busy):
        services.message_reset(message=message)
    with time_machine.travel(NOW + timedelta(minutes=2, seconds=1), tick=False):
        services.message_reset(message=message)
    message.refresh_from_db()
    assert (message.warning_level, message.warning_email_sending_until) == (0, None)


@pytest.mark.django_db(transaction=True)
def test_a_reset_waits_for_a_send_that_finishes_within_the_wait(owner, make_message, hooked, settings):
    settings.MESSAGING_ANSWER_WAIT_SECONDS = 5
    message = make_message(owner)
    _warning_due(message)
    talking, release, order = threading.Event(), threading.Event(), []

    def slow_relay():
        talking.set()
        release.wait(5)
        order.append("warning accepted")

    hooked.during = slow_relay
    sender = threading.Thread(target=warnings_send)
    sender.start()
    assert talking.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    services.message_reset(message=Message.objects.get(pk=message.pk))
    order.append("reset saved")
    sender.join(5)
    assert order == ["warning accepted", "reset saved"]
    assert time.monotonic() - started >= 0.25  # it waited for the relay
    message.refresh_from_db()
    assert (message.warning_level, message.warning_email_due_at, message.warning_email_sending_until) == (0, None, None)


@pytest.mark.django_db
def test_verifying_the_email_leaves_a_warning_being_sent_to_its_sender(owner, make_message):
    message = make_message(owner, level=1)
    lease = NOW + timedelta(minutes=10)
    Message.objects.filter(pk=message.pk).update(
        warning_email_due_at=lease, warning_email_sending_until=NOW + timedelta(minutes=2)
    )
    assert owner_contacts.warnings_release(owner=owner, now=NOW) == 0
    assert Message.objects.get(pk=message.pk).warning_email_due_at == lease  # not made due again: not sent twice
