"""Messaging fixtures: a message factory that goes through the service (the clock is tests/clock.py)."""

from __future__ import annotations

import pytest

from messaging import services
from messaging.models import Message
from tests.messaging.contact_doubles import bot, smtp  # noqa: F401  (the owner contacts' far ends, as fixtures)


@pytest.fixture
def make_message():
    def make(
        owner,
        *,
        months: int = 1,
        recipients: list[dict] | None = None,
        content: str = "the secret plan",
        level: int = 0,
        **kw,
    ):
        """``level``: the warnings already sent (a message at level 0 has nothing to "continue")."""
        recipients = recipients or [{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}]
        message, _key = services.message_create(
            owner=owner, content=content, initial_delay_months=months, recipients=recipients, **kw
        )
        if level:
            Message.objects.filter(pk=message.pk).update(warning_level=level)
            message.refresh_from_db()
        return message

    return make


@pytest.fixture
def seed_ladder(settings):
    """The seed's ladder, whatever the environment says."""
    settings.MESSAGING_DAYS_PER_MONTH = 30
    settings.MESSAGING_LADDER_DAYS = [30, 30, 7, 1, 1]
    return settings
