"""The back office: lists without content, read-only logs, actions that call the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cradle_site.schedules import declared_schedules
from messaging.demo import create_demo
from messaging.models import Delivery, Message
from tests.conftest import healthz_report
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_the_message_list_never_shows_content(staff_client, owner, make_message, django_assert_max_num_queries):
    message = make_message(owner, content="the secret plan", title="Secret title")
    response = staff_client.get(reverse("admin:messaging_message_changelist"))
    assert response.status_code == 200
    assert "the secret plan" not in response.content.decode()
    assert "Secret title" not in response.content.decode()
    detail = staff_client.get(reverse("admin:messaging_message_change", args=[message.pk]))
    assert detail.status_code == 200 and "the secret plan" not in detail.content.decode()
    for _ in range(5):
        make_message(owner)
    with django_assert_max_num_queries(12):
        staff_client.get(reverse("admin:messaging_message_changelist"))


@pytest.mark.parametrize(
    ("action", "state", "status"),
    [("reset_messages", "active", "WARNING_RESET"), ("revoke_messages", "revoked", "REVOKED")],
)
def test_actions_call_the_services(staff_client, owner, make_message, action, state, status):
    message = make_message(owner)
    response = staff_client.post(
        reverse("admin:messaging_message_changelist"),
        {"action": action, "_selected_action": [message.pk], "index": "0", "confirmed": "yes"},  # revoke asks first
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.state == state
    log = message.status_logs.get()
    assert log.status == status and "by staff (staff)" in log.details


def test_retry_delivery_requeues_a_failed_one(staff_client, owner, make_message):
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(state="delivering", is_active=False)
    delivery = Delivery.objects.create(
        recipient=message.recipients.get(), message=message, state="failed", attempts=8, last_error="HTTP 500"
    )
    assert staff_client.get(reverse("admin:messaging_delivery_changelist") + "?state=failed").status_code == 200
    staff_client.post(
        reverse("admin:messaging_delivery_changelist"), {"action": "retry", "_selected_action": [delivery.pk]}
    )
    delivery.refresh_from_db()
    assert delivery.state == "pending"


def test_status_logs_are_read_only(staff_client):
    assert staff_client.get(reverse("admin:messaging_statuslog_add")).status_code == 403


def test_each_messaging_schedule_runs_one_job_named_for_it():
    names = {spec.full_name: spec.func for spec in declared_schedules() if spec.name.startswith("messaging.")}
    assert names == {
        "cradle.messaging.sweep": "messaging.tasks.sweep",
        "cradle.messaging.trusted_grants": "messaging.tasks.trusted_grants",
        "cradle.messaging.send_warnings": "messaging.tasks.send_warnings",
        "cradle.messaging.send_deliveries": "messaging.tasks.send_deliveries",
        "cradle.messaging.send_named_notices": "messaging.tasks.send_named_notices",
        "cradle.messaging.alarm_staff": "messaging.tasks.alarm_staff",
        "cradle.messaging.purge_attachments": "messaging.tasks.purge_attachments",
    }


def test_the_demo_is_idempotent_and_the_pages_show_it(client, owner):
    create_demo(owner)
    create_demo(owner)
    assert Message.objects.filter(owner=owner).count() == 2
    levelled = Message.objects.get(owner=owner, warning_level=2)
    assert levelled.next_warning_date > levelled.last_warning_at
    client.force_login(owner)
    assert client.get(reverse("messaging:message_detail", args=[levelled.pk])).status_code == 200


def test_healthz_reports_the_sweep(client, owner):
    assert healthz_report(client).json()["jobs"]["messaging.sweep"]["stale"] is True
    messaging_minute()
    body = healthz_report(client).json()
    assert body["jobs"]["messaging.sweep"]["stale"] is False


def test_recipients_are_read_only_on_the_message_page(staff_client, owner, make_message):
    message = make_message(owner)
    recipient = message.recipients.get()
    url = reverse("admin:messaging_message_change", args=[message.pk])
    page = staff_client.get(url).content.decode()
    assert "rae@example.com" in page and 'name="recipients-0-contact"' not in page
    staff_client.post(
        url,
        {
            "recipients-TOTAL_FORMS": "1",
            "recipients-INITIAL_FORMS": "1",
            "recipients-0-id": recipient.pk,
            "recipients-0-message": message.pk,
            "recipients-0-contact": "not an address",
            "recipients-0-DELETE": "on",
        },
    )
    recipient.refresh_from_db()
    assert recipient.contact == "rae@example.com"
