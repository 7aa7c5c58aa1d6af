"""Helpers for the recipients' side tests: deliver a message now, read the link out of a notice."""

from __future__ import annotations

import re

import time_machine
from django.core import mail

from messaging.models import Message
from tests.clock import NOW
from tests.jobs import messaging_minute

LINK = re.compile(r"https?://[^/\s]+/d/([A-Za-z0-9_-]+)/")


def deliver_now(message: Message, *, at=NOW) -> None:
    """Run the message's ladder out and the delivery jobs once, at ``at``."""
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=at)
    with time_machine.travel(at, tick=False):
        messaging_minute()


def token_in(text: str) -> str:
    [token] = set(LINK.findall(text))
    return token


def token_sent_to(address: str, *, last: bool = True) -> str:
    sent = [m for m in mail.outbox if m.to == [address]]
    return token_in(sent[-1 if last else 0].body)
