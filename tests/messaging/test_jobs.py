"""Each messaging job does one thing: the sweep moves the ladder, each sender sends one kind."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from cradle_site.models import Heartbeat
from messaging import tasks
from messaging.models import Delivery, Message
from tests.clock import NOW

pytestmark = pytest.mark.django_db


def test_the_sweep_queues_a_warning_and_only_send_warnings_sends_it(owner, make_message, seed_ladder):
    message = make_message(owner, months=1)
    Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        assert tasks.sweep()["advanced"] == 1
        assert mail.outbox == []
        assert tasks.send_deliveries() == {"sent": 0, "failed": 0}
        assert tasks.alarm_staff() == {"raised": 0, "sent": 0, "skipped": 0, "failed": 0}
        assert mail.outbox == []
        assert tasks.send_warnings()["sent"] == 1
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert set(Heartbeat.objects.values_list("name", flat=True)) == {
        "messaging.sweep",
        "messaging.send_warnings",
        "messaging.send_deliveries",
        "messaging.alarm_staff",
    }


def test_the_sweep_starts_a_delivery_and_only_send_deliveries_sends_it(owner, make_message):
    message = make_message(owner, months=1)
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        assert tasks.sweep()["deliveries_started"] == 1
        assert tasks.send_warnings()["sent"] == 0
        assert mail.outbox == [] and Delivery.objects.get(message=message).state == "pending"
        assert tasks.send_deliveries() == {"sent": 1, "failed": 0}
    assert [m.to for m in mail.outbox] == [["rae@example.com"]]
    assert Message.objects.get(pk=message.pk).state == Message.State.DELIVERED
    assert Message.objects.get(pk=message.pk).delivered_at == NOW
