"""The recipient's delivery e-mail says in its subject who it is from and what it is."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from messaging.models import Message
from tests.clock import NOW
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db


def _deliver(owner, make_message, **kw) -> str:
    message = make_message(owner, **kw)
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
    [email] = [m for m in mail.outbox if m.to == ["rae@example.com"]]
    return email.subject


def test_it_names_the_sender_and_cradle(owner, make_message):
    owner.first_name, owner.last_name = "Alice", "Smith"
    owner.save()
    assert _deliver(owner, make_message, title="") == "A message from Alice Smith, left with Cradle"


def test_it_adds_the_title_the_owner_gave(owner, make_message):
    subject = _deliver(owner, make_message, title="For the garden")
    assert subject == "A message from alice, left with Cradle: “For the garden”"


def test_it_is_in_the_owners_language(owner, make_message):
    owner.language = "zh-hans"
    owner.first_name, owner.last_name = "Alice", "Smith"
    owner.save()
    subject = _deliver(owner, make_message, title="")
    assert "Alice Smith" in subject and "Cradle" in subject and "留言" in subject
