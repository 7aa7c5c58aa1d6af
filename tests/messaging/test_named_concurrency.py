"""Several processes send the same due "you are named" notices at once (MariaDB row locks, SKIP LOCKED).

Each child sends until nothing is left and prints the addresses it really sent to (Django's
locmem outbox lives in the child); the parent checks every recipient was told exactly once
and every notice ended sent after one attempt (``NAMED_LEASE``, cradle_site.leases).
"""

from __future__ import annotations

import json
import secrets
from collections import Counter

import pytest
from django.utils import timezone

from messaging import named
from messaging.contacts import contact_hash
from messaging.models import Message, MessageBody, NamedNotice, Recipient
from tests.conftest import run_python

NOTICES, WORKERS = 400, 4

CHILD = r"""
import json
from django.core import mail
from messaging.named_sending import named_notices_send
idle = 0
while idle < 3:
    counts = named_notices_send(limit=25)
    idle = 0 if sum(counts.values()) else idle + 1
print(json.dumps([m.to[0] for m in getattr(mail, "outbox", [])]))
"""


@pytest.mark.mariadb_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_tell_each_recipient_once(owner):
    now = timezone.now()
    Message.objects.bulk_create(
        [
            Message(
                owner=owner, initial_delay_months=1, next_warning_date=now, revocation_key_hash=secrets.token_hex(32)
            )
            for _ in range(NOTICES)
        ]
    )
    ids = list(Message.objects.order_by("id").values_list("id", flat=True))
    MessageBody.objects.bulk_create([MessageBody(message_id=pk, content=f"content {pk}") for pk in ids])
    Recipient.objects.bulk_create(
        [Recipient(message_id=pk, name=f"R{pk}", contact=f"r{pk}@example.com", tell_named=True) for pk in ids]
    )
    tokens = [secrets.token_urlsafe(32) for _ in ids]
    NamedNotice.objects.bulk_create(
        [
            NamedNotice(
                message_id=pk,
                contact_hash=contact_hash("email", f"r{pk}@example.com"),
                token_hash=named.named_token_hash(token),
                pending_token=token,
                next_attempt_at=now,
            )
            for pk, token in zip(ids, tokens, strict=True)
        ]
    )
    children = [run_python(CHILD) for _ in range(WORKERS)]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(1 for output in outputs if output) >= 2, "at least two workers should have taken part"
    told = Counter(address for output in outputs for address in output)
    assert len(told) == NOTICES and set(told.values()) == {1}
    assert NamedNotice.objects.filter(state=NamedNotice.State.SENT, attempts=1, pending_token="").count() == NOTICES
    assert Recipient.objects.filter(named_notice_sent_at__isnull=False).count() == NOTICES
