"""Grants racing the ladder's own delivery, in several processes at once (MariaDB row locks).

Every message is due twice in the same minute: its final warning's interval is over (the sweep
would start its delivery) and a trusted contact's request for it is due (the grants job would).
Three workers run the cluster's jobs until idle (two of them the grants before the sweep). Whatever
order they take, each message is delivered once, by one of the two: a "trusted contact only"
message reaches either its own recipient (the sweep won) or the contact (the grant won), never
both, and every recipient gets one notice. (Measured on MariaDB: in one run the grants won 28 of
the 32 messages and the sweep 4, so both paths and their race are exercised; the split varies.)
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.utils import timezone

from messaging import services, trusted
from messaging.models import AccessRequest, Delivery, Message, StatusLog, TrustedAccess, TrustedContact
from ops.audit_models import AuditEvent
from tests.conftest import run_python

OWNERS, PER_OWNER, WORKERS = 8, 4, 3

CHILD = r"""
import json, os
from django.core import mail
from messaging import tasks
jobs = [tasks.sweep, tasks.trusted_grants, tasks.send_warnings, tasks.send_deliveries, tasks.alarm_staff]
if os.environ.get("GRANTS_FIRST"):  # this worker's minute runs the grants before the sweep
    jobs[0], jobs[1] = jobs[1], jobs[0]
idle = 0
while idle < 3:
    result = {job.__name__: job() for job in jobs}
    busy = result["sweep"]["advanced"] + result["trusted_grants"]["granted"] + sum(result["send_deliveries"].values())
    idle = 0 if busy else idle + 1
print(json.dumps([m.to[0] for m in getattr(mail, "outbox", [])]))
"""


@pytest.mark.mariadb_only
@pytest.mark.django_db(transaction=True)
def test_grants_and_the_sweep_in_three_processes_deliver_each_message_once(make_user):
    now = timezone.now()
    contact_only = set()
    for n in range(OWNERS):
        owner = make_user(username=f"owner{n}", email=f"owner{n}@example.com", password="pw-owner-123!")
        for i in range(PER_OWNER):
            message, _key = services.message_create(
                owner=owner,
                content=f"text {n}.{i}",
                initial_delay_months=1,
                recipients=[{"name": f"R{n}.{i}", "contact": f"r{n}.{i}@example.com"}],
            )
            mode = TrustedAccess.Mode.CONTACT if i % 2 else TrustedAccess.Mode.RECIPIENTS
            trusted.trusted_access_set(message=message, mode=mode)
            if mode == TrustedAccess.Mode.CONTACT:
                contact_only.add(message.pk)
        Message.objects.filter(owner=owner).update(warning_level=5, next_warning_date=now)
        contact = TrustedContact.objects.create(
            owner=owner,
            name=f"T{n}",
            email=f"t{n}@example.net",
            wait_days=1,
            token_hash=trusted.token_hash(f"token-{n}"),
            verified_at=now,
        )
        AccessRequest.objects.create(owner=owner, contact=contact, requested_at=now, grant_at=now)
    # Two of the three workers take the grants first in their minute, one the sweep first.
    children = [run_python(CHILD, GRANTS_FIRST="1" if n else "") for n in range(WORKERS)]
    sent = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-3000:]
        sent += json.loads(out.strip().splitlines()[-1])

    total = OWNERS * PER_OWNER
    assert Message.objects.filter(state=Message.State.DELIVERED).count() == total
    deliveries = list(Delivery.objects.select_related("recipient"))
    assert all(d.state == Delivery.State.SENT and d.attempts == 1 for d in deliveries)
    by_message = Counter(d.message_id for d in deliveries)
    assert set(by_message) == set(Message.objects.values_list("id", flat=True)) and set(by_message.values()) == {1}
    # One notice per delivery row, to the address it names (a contact gets one per message granted to them).
    assert Counter(sent) == Counter(d.recipient.contact for d in deliveries)
    to_contact = {d.message_id for d in deliveries if d.recipient.contact.endswith("@example.net")}
    assert to_contact <= contact_only
    assert AccessRequest.objects.filter(state=AccessRequest.State.GRANTED).count() == OWNERS
    assert AuditEvent.objects.filter(event_type="access_request.granted").count() == OWNERS
    granted = StatusLog.objects.filter(status=StatusLog.Status.TRUSTED_GRANTED)
    assert granted.count() == total and Counter(granted.values_list("message_id", flat=True)).most_common(1)[0][1] == 1
    started_by_grant = {row.message_id for row in granted if row.data["started"]}
    assert StatusLog.objects.filter(status=StatusLog.Status.DELIVERED).count() == total
    assert to_contact == started_by_grant & contact_only
