"""Many messages fast for the list-scale tests: bulk rows, not the service (2,000 creates would take minutes)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from messaging.models import Message, MessageBody, Recipient
from tests.clock import NOW


def bulk_messages(owner, count: int, *, title: str = "", recipients: int = 2) -> list[int]:
    start = Message.objects.filter(owner=owner).count()
    """``count`` messages of ``owner``, one a minute before NOW, each with a body and ``recipients`` recipients.

    Returns their ids newest first, the lists' order. Each call's rows are older than the last call's.
    """
    Message.objects.bulk_create(
        [
            Message(
                owner=owner,
                title=title,
                created_at=NOW - timedelta(minutes=start + i),
                next_warning_date=NOW + timedelta(days=30),
                revocation_key_hash=uuid.uuid4().hex,
            )
            for i in range(count)
        ],
        batch_size=500,
    )
    # Read the ids back (MariaDB's bulk insert does not return them): the new rows are those without a body.
    ids = list(
        Message.objects.filter(owner=owner, body__isnull=True)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
    )
    MessageBody.objects.bulk_create([MessageBody(message_id=pk, content="") for pk in ids], batch_size=500)
    Recipient.objects.bulk_create(
        [Recipient(message_id=pk, name=f"R{n}", contact=f"r{n}@example.com") for pk in ids for n in range(recipients)],
        batch_size=1000,
    )
    return ids
