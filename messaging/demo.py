"""Demo messages for ``manage.py seed_demo`` (idempotent)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from messaging import history, ladder, services
from messaging.models import Message, StatusLog


def create_demo(user) -> None:
    if Message.objects.filter(owner=user).exists():
        return
    services.message_create(
        owner=user,
        title="For my sister",
        content="The spare key is with the neighbour at number 12. Love you.",
        initial_delay_months=6,
        recipients=[{"name": "Sam", "contact": "sam@example.com", "contact_type": "email"}],
    )
    message, _key = services.message_create(
        owner=user,
        title="Passwords",
        content="The password manager's recovery sheet is in the blue folder.",
        initial_delay_months=3,
        recipients=[
            {"name": "Alex", "contact": "alex@example.com", "contact_type": "email"},
            {"name": "Family server", "contact": "https://example.com/hooks/cradle", "contact_type": "webhook"},
        ],
        now=timezone.now() - timedelta(days=135),
    )
    # Show a message part-way up the ladder: warnings 1 and 2 were sent.
    first = message.cycle_started_at + ladder.initial_delay(3)
    second = first + ladder.interval_after(1)
    for level, at in ((1, first), (2, second)):
        next_step_at = at + ladder.interval_after(level)
        StatusLog.objects.create(
            message=message, created_at=at, **history.warning_sent(level=level, next_step_at=next_step_at)
        )
    Message.objects.filter(pk=message.pk).update(
        warning_level=2, last_warning_at=second, next_warning_date=second + ladder.interval_after(2)
    )
