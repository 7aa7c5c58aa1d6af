"""The one claim/lease mechanism (``cradle_site.leases``), on the models that use it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from messaging.alarms import alarms_send
from messaging.models import ALARM_LEASE, DELIVERY_LEASE, Delivery, Message, Recipient, StaffAlarm
from publishing import queue
from publishing.models import PublishingTask
from publishing.services import project_create, project_set_paused, task_create


@pytest.fixture
def alarms(owner, db):
    message = Message.objects.create(
        owner=owner, next_warning_date=timezone.now(), revocation_key_hash="k" * 64, state=Message.State.DELIVERING
    )
    now = timezone.now()
    rows = []
    for i in range(3):
        recipient = Recipient.objects.create(message=message, name=f"r{i}", contact=f"r{i}@example.com")
        delivery = Delivery.objects.create(message=message, recipient=recipient, state=Delivery.State.FAILED)
        rows.append(
            StaffAlarm.objects.create(
                delivery=delivery, reason=StaffAlarm.Reason.REFUSED, next_attempt_at=now - timedelta(minutes=10 - i)
            )
        )
    return rows


def test_a_claim_holds_due_free_rows_in_order_and_a_second_claim_gets_none(alarms):
    now = timezone.now()
    first = ALARM_LEASE.claim(StaffAlarm.objects.all(), now=now, limit=2)
    assert first.ids == [alarms[0].pk, alarms[1].pk]
    assert set(StaffAlarm.objects.filter(state="sending").values_list("pk", flat=True)) == set(first.ids)
    assert all(n.lease_until == first.lease_until for n in StaffAlarm.objects.filter(pk__in=first.ids))
    second = ALARM_LEASE.claim(StaffAlarm.objects.all(), now=now, limit=5)
    assert second.ids == [alarms[2].pk]  # the held rows are not claimed again


def test_rows_not_yet_due_are_not_claimed(alarms):
    StaffAlarm.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert ALARM_LEASE.claim(StaffAlarm.objects.all(), now=timezone.now(), limit=5).ids == []


def test_an_expired_lease_is_taken_back_and_claimed_again(alarms, settings):
    now = timezone.now()
    dead = ALARM_LEASE.claim(StaffAlarm.objects.all(), now=now, limit=3)
    later = now + timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS + 1)
    again = ALARM_LEASE.claim(StaffAlarm.objects.all(), now=later, limit=3)
    assert again.taken_back == 3 and sorted(again.ids) == sorted(dead.ids)
    # The dead worker's renewal right before a send fails: the row is someone else's now.
    assert ALARM_LEASE.hold(dead.ids[0], dead.lease_until) is None
    assert ALARM_LEASE.hold(again.ids[0], again.lease_until) is not None


def test_a_renewal_moves_the_lease_and_only_once(alarms):
    claim = ALARM_LEASE.claim(StaffAlarm.objects.all(), now=timezone.now(), limit=1)
    row = StaffAlarm.objects.filter(pk=claim.ids[0])
    renewed = ALARM_LEASE.hold(claim.ids[0], claim.lease_until)
    assert renewed is not None and row.get().lease_until == renewed
    assert ALARM_LEASE.hold(claim.ids[0], claim.lease_until) is None  # the old lease is gone


def test_released_clears_the_lease_and_the_holder():
    assert DELIVERY_LEASE.released(state="sent") == {"lease_until": None, "state": "sent"}
    assert queue.TASK_LEASE.released() == {"lease_expires_at": None, "locked_by": "", "locked_at": None}


def test_an_alarm_the_relay_refuses_is_kept_and_retried_never_given_up(alarms, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.EMAIL_BACKEND = "tests.site.test_leases.RefusingBackend"
    now = timezone.now()
    for day in range(30):
        alarms_send(now=now + timedelta(days=day))
    assert set(StaffAlarm.objects.values_list("state", "attempts")) == {("pending", 30)}
    assert mail.outbox == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alarms_send(now=now + timedelta(days=31))
    assert set(StaffAlarm.objects.values_list("state", flat=True)) == {"sent"}
    assert len(mail.outbox) == 3 and all(m.to == ["ops@example.com"] for m in mail.outbox)


class RefusingBackend:
    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("relay down")


def test_a_task_held_by_a_dead_worker_is_taken_back_by_the_next_claim_flagged_maybe_posted(owner, settings):
    settings.PUBLISHING_LEASE_SECONDS = 60
    project = project_create(owner=owner, name="Cats", slot_interval_minutes=30, daily_cap=1000)
    task = task_create(project=project, text="hello")
    PublishingTask.objects.filter(pk=task.pk).update(scheduled_at=timezone.now() - timedelta(minutes=1))
    now = timezone.now()
    [held] = queue.task_claim_due(worker_id="dead", limit=5, now=now).tasks
    assert held.status == "locked" and held.locked_by == "dead" and not held.maybe_posted
    # The worker dies. The project is paused meanwhile, so nobody claims its tasks; still, the
    # next claim anywhere takes the task back, so it never shows as held by a dead worker.
    project_set_paused(project=project, paused=True)
    claim = queue.task_claim_due(worker_id="alive", limit=5, now=now + timedelta(seconds=61))
    assert claim.tasks == [] and claim.taken_back == 1
    task.refresh_from_db()
    assert (task.status, task.locked_by, task.lease_expires_at, task.maybe_posted) == ("pending", "", None, True)
    assert task.version == held.version + 1  # the dead worker's later writes are refused
    assert not queue.task_transition(held, expect_status="locked", status="success")


def test_an_alarm_batch_out_of_time_gives_back_what_it_did_not_start(alarms, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    assert alarms_send(run_seconds=0) == {"sent": 0, "skipped": 0, "failed": 0}
    assert mail.outbox == []
    assert set(StaffAlarm.objects.values_list("state", "lease_until")) == {(StaffAlarm.State.PENDING, None)}
    assert alarms_send()["sent"] == 3  # the next run sends them
