"""Several processes sweep the same due messages at once (MariaDB row locks, SKIP LOCKED).

Each child counts the e-mails it really sent (Django's locmem outbox lives in the child)
and prints them; the parent checks every warning went out once and every recipient got
the message once.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter

import pytest
from django.utils import timezone

from messaging.models import Delivery, Message, MessageBody, Recipient, StatusLog
from tests.conftest import run_python

WARNED, DELIVERING, WORKERS = 1600, 400, 4

CHILD = r"""
import json, re
from django.core import mail
from tests.jobs import messaging_minute
sent = []
idle = 0
while idle < 3:
    result = messaging_minute()
    busy = result["messaging.sweep"]["advanced"] + sum(
        sum(counts.values()) for name, counts in result.items() if name != "messaging.sweep"
    )
    idle = 0 if busy else idle + 1
for m in getattr(mail, "outbox", []):
    found = re.search(r"/messages/(\d+)/", m.body)
    sent.append([m.to[0], m.subject, found.group(1) if found else None])
print(json.dumps(sent))
"""


@pytest.mark.mariadb_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_send_each_warning_once_and_deliver_once(owner):
    now = timezone.now()
    total = WARNED + DELIVERING
    Message.objects.bulk_create(
        [
            Message(
                owner=owner,
                initial_delay_months=1,
                next_warning_date=now,
                warning_level=0 if i < WARNED else 5,
                revocation_key_hash=secrets.token_hex(32),
            )
            for i in range(total)
        ],
        batch_size=1000,
    )
    ids = list(Message.objects.order_by("id").values_list("id", flat=True))
    MessageBody.objects.bulk_create(
        [MessageBody(message_id=pk, content=f"content {pk}") for pk in ids], batch_size=1000
    )
    Recipient.objects.bulk_create(
        [Recipient(message_id=pk, name=f"R{pk}", contact=f"r{pk}@example.com") for pk in ids], batch_size=1000
    )
    children = [run_python(CHILD, MESSAGING_SWEEP_BATCH_SIZE="200") for _ in range(WORKERS)]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert all(outputs), "every worker should have taken part"
    sent = [tuple(item) for output in outputs for item in output]
    warnings = [item for item in sent if item[0] == owner.email]
    deliveries = [item for item in sent if item[0] != owner.email]
    # Each warning e-mail once: one per warned message, no message twice.
    warned_ids = Counter(item[2] for item in warnings)
    assert len(warned_ids) == WARNED and set(warned_ids.values()) == {1}
    # Each recipient once.
    delivered_to = Counter(item[0] for item in deliveries)
    assert len(delivered_to) == DELIVERING and set(delivered_to.values()) == {1}
    assert StatusLog.objects.filter(status="WARNING_1").count() == WARNED
    assert StatusLog.objects.filter(status="DELIVERED").count() == DELIVERING
    assert Delivery.objects.filter(state="sent", attempts=1).count() == DELIVERING
    assert Message.objects.filter(warning_level=1, state="active").count() == WARNED
    assert Message.objects.filter(state="delivered").count() == DELIVERING
