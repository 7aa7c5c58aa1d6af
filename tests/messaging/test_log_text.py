"""The history: every row the code writes carries ``data``, and pages render it in the reader's language."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import responses
import time_machine
from django.apps import apps
from django.urls import reverse
from django.utils import timezone, translation

from messaging import delivery_links, history, pauses, services, trusted
from messaging.channels import FailureKind
from messaging.log_text import TEMPLATES, log_text
from messaging.models import Delivery, DeliveryLink, Message, Recipient, StatusLog
from tests.clock import NOW
from tests.jobs import messaging_minute
from tests.messaging import contact_doubles

pytestmark = pytest.mark.django_db
HOOK = "https://hooks.example.com/cradle"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
migration = importlib.import_module("messaging.migrations.0004_statuslog_data")


def _step(message) -> None:
    Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
    messaging_minute()


def _text(fields: history.LogFields) -> str:
    return log_text(status=fields["status"], data=fields["data"], details=fields["details"])


def test_every_status_has_a_template():
    assert set(TEMPLATES) == set(StatusLog.Status.values)


@responses.activate
def test_every_row_the_code_writes_has_data_that_reads_in_chinese(owner, staff, make_message, make_user, settings):
    settings.EMAIL_BACKEND = "tests.messaging.contact_doubles.RefusingBackend"
    gone = make_user(username="gone", email="gone@example.com", password="pw-gone-123!")
    contact_doubles.REFUSED.add(gone.email)  # its only contact is gone: the all-permanent rule fires
    responses.post(HOOK, status=503)
    responses.post(HOOK, status=410)
    with time_machine.travel(NOW, tick=False) as clock:
        answered = make_message(owner)
        _step(answered)  # warning 1
        services.message_continue(message=answered)
        services.message_reset(message=answered)
        services.messages_reset_all(owner=owner)
        services.message_reset(message=answered, actor=history.staff(staff))
        services.message_revoke(message=answered)
        _message, key = services.message_create(
            owner=owner,
            content="x",
            initial_delay_months=1,
            recipients=[{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}],
        )
        services.message_revoke_by_key(key=key)
        failing = make_message(owner, recipients=[{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}])
        Message.objects.filter(pk=failing.pk).update(warning_level=5)
        _step(failing)  # delivery: attempt 1 fails
        clock.shift(timedelta(days=1))
        messaging_minute()  # attempt 2 is refused for good
        delivered = make_message(owner)
        Message.objects.filter(pk=delivered.pk).update(warning_level=5)
        _step(delivered)
        alone = make_message(owner)
        Message.objects.filter(pk=alone.pk).update(warning_level=5)
        Recipient.objects.filter(message=alone).delete()
        _step(alone)  # no one to deliver to
        paused = make_message(owner)
        pause = pauses.pause_start(owner=owner, message=paused, until=NOW + timedelta(days=3))
        pauses.pause_end(pause=pause)
        unreachable = make_message(gone)
        _step(unreachable)  # warning 1 refused for good
        clock.shift(timedelta(days=settings.MESSAGING_UNREACHABLE_GRACE_DAYS))
        messaging_minute()  # owner unreachable on every channel
        sent = Delivery.objects.get(message=delivered)
        _link, token = delivery_links.link_create(delivery=sent, reason=DeliveryLink.Reason.DELIVERED, now=NOW)
        delivery_links.link_opened(delivery_links.link_find(token))  # the recipient's page opened
        delivery_links.link_resend(delivery=sent, user=staff)  # a new link sent by staff
        asked = make_message(owner)  # a trusted contact asks, is refused, asks again and is granted
        trusted.trusted_access_set(message=asked, mode="recipients")
        tess = trusted.trusted_contact_add(owner=owner, name="Tess", email="tess@example.net", wait_days=1)
        trusted.trusted_contact_verify(contact=tess)
        tess.refresh_from_db()
        trusted.access_refuse(request=trusted.access_request(contact=tess))
        trusted.access_grants_due(now=trusted.access_request(contact=tess).grant_at)
    contact_doubles.REFUSED.clear()
    rows = list(StatusLog.objects.all())
    assert {row.status for row in rows} >= set(StatusLog.Status.values) - {f"WARNING_{n}" for n in range(2, 6)}
    assert all(row.data for row in rows), [row.details for row in rows if not row.data]
    with translation.override("zh-hans"):
        texts = {row.details: row.display_text for row in rows}
    assert all(CHINESE.search(text) for text in texts.values()), texts


def test_it_renders_from_data_in_english_and_chinese_with_times_in_the_readers_zone():
    warning = history.warning_sent(level=2, next_step_at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert _text(warning) == "Warning 2 sent (next step: March 1, 2026, noon)."
    with translation.override("zh-hans"), timezone.override("Asia/Shanghai"):
        text = _text(warning)
    assert text.startswith("已发出第 2 次提醒") and "20:00" in text


def test_it_says_who_acted(staff):
    by_staff = history.reset(from_level=3, actor=history.staff(staff))
    assert by_staff["data"]["actor"] == {"kind": "staff", "name": "staff", "user_id": staff.pk}
    assert _text(by_staff) == "Reset from level 3. By staff (staff)."
    assert _text(history.revoked(actor=history.REVOCATION_KEY)) == "Revoked with the revocation key."
    assert _text(history.reset(from_level=1, actor=history.OWNER, all_messages=True)) == (
        "Reset with all messages, from level 1."
    )
    with translation.override("zh-hans"):
        assert _text(by_staff) == "从第 3 级重置。由工作人员（staff）操作。"
        assert _text(history.revoked(actor=history.staff(staff))) == "已撤销。由工作人员（staff）操作。"


def test_a_failed_delivery_reads_with_the_channels_name_and_whether_it_will_retry(owner, make_message):
    message = make_message(owner, recipients=[{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}])
    recipient = message.recipients.get()
    retried = history.delivery_failed(recipient=recipient, attempt=3, error="HTTP 503", kind=FailureKind.TRANSIENT)
    assert retried["details"] == "recipient Hook (webhook), attempt 3 (will retry): HTTP 503"
    assert not retried["data"]["final"]
    assert _text(retried) == "Hook (webhook), attempt 3 failed; it will be tried again: HTTP 503"
    gone = history.delivery_failed(recipient=recipient, attempt=1, error="HTTP 410", kind=FailureKind.PERMANENT)
    assert (
        gone["details"] == "recipient Hook (webhook), attempt 1 (refused for good; staff have been alerted): HTTP 410"
    )
    assert gone["data"]["final"] and gone["data"]["error_kind"] == "permanent"
    assert _text(gone) == (
        "Hook (webhook), attempt 1: the address refused the message for good (it may no longer exist); "
        "staff have been alerted: HTTP 410"
    )
    with translation.override("zh-hans"):
        assert "工作人员" in _text(gone) and "Hook（Webhook）" in _text(gone)


def test_a_row_from_when_deliveries_were_given_up_still_reads(owner, make_message):
    """Rows written before transient failures were retried for ever: ``final`` with a transient kind."""
    message = make_message(owner, recipients=[{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}])
    old = history.delivery_failed(
        recipient=message.recipients.get(), attempt=8, error="HTTP 503", kind=FailureKind.TRANSIENT
    )
    old["data"]["final"] = True
    assert _text(old) == "Hook (webhook), attempt 8 failed; Cradle has stopped trying and staff can retry: HTTP 503"
    with translation.override("zh-hans"):
        assert _text(old).startswith("Hook（Webhook）第 8 次发送失败；Cradle 已停止重试")


def test_a_row_without_data_shows_its_details_as_stored():
    assert log_text(status="WARNING_1", data={}, details="demo") == "demo"


def test_the_sweep_writes_one_data_per_group(owner, make_message):
    with time_machine.travel(NOW, tick=False):
        first, second, higher = make_message(owner), make_message(owner), make_message(owner)
        Message.objects.filter(pk=higher.pk).update(warning_level=2)
        Message.objects.filter(pk__in=[first.pk, second.pk, higher.pk]).update(next_warning_date=NOW)
        messaging_minute()
    logs = {log.message_id: log for log in StatusLog.objects.all()}
    assert logs[first.pk].data == logs[second.pk].data  # a dict read back, not a JSON string
    assert logs[first.pk].data["level"] == 1 and logs[first.pk].data["actor"] == {"kind": "job", "name": "sweep"}
    first.refresh_from_db()
    assert datetime.fromisoformat(logs[first.pk].data["next_step_at"]) == first.next_warning_date
    assert logs[higher.pk].status == "WARNING_3" and logs[higher.pk].data["level"] == 3
    # JSON the database itself understands (MariaDB: the JSON_VALID check; SQLite: JSON1).
    assert StatusLog.objects.filter(data__level=3).get().message_id == higher.pk


def test_the_back_office_shows_a_rows_data(client, staff, owner, make_message):
    message = make_message(owner)
    services.message_revoke(message=message, actor=history.staff(staff))
    client.force_login(staff)
    page = client.get(reverse("admin:messaging_statuslog_change", args=[message.status_logs.get().pk]))
    assert page.status_code == 200 and "revoked by staff (staff)" in page.content.decode()
    assert "&quot;kind&quot;: &quot;staff&quot;" in page.content.decode()


def test_the_api_shows_data_next_to_details(api_client_for, owner, make_message):
    message = make_message(owner, level=1)
    services.message_continue(message=message)
    api = api_client_for(owner, ["messages:read"])
    row = api.get(reverse("api:messaging-message-logs", args=[message.pk])).json()["results"][0]
    assert row["details"] == "continue at level 1"
    assert row["data"] == {"level": 1, "actor": {"kind": "owner"}}


def test_the_detail_page_shows_the_history_in_chinese(client, owner, make_message):
    owner.language = "zh-hans"
    owner.save()
    message = make_message(owner, level=1)
    services.message_continue(message=message)
    client.force_login(owner)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "在第 1 级选择继续。" in page and "continue at level 1" not in page


# The English the code wrote before StatusLog.data, and what the migration reads in it.
OLD_ROWS = [
    (
        "WARNING_2",
        "warning 2 sent; next step at 2026-03-01T12:00:00+00:00",
        "Warning 2 sent (next step: March 1, 2026, noon).",
    ),
    ("WARNING_RESET", "reset from level 4", "Reset from level 4."),
    ("WARNING_RESET", "reset with all messages, from level 1", "Reset with all messages, from level 1."),
    ("WARNING_RESET", "by staff (root)", "By staff (root)."),
    ("CONTINUED", "continue at level 2", "Continued at level 2."),
    ("CONTINUED", "by staff (root)", "By staff (root)."),
    ("REVOKED", "revoked by the owner", "Revoked by the owner."),
    ("REVOKED", "revoked with the revocation key", "Revoked with the revocation key."),
    ("REVOKED", "by staff (root)", "Revoked. By staff (root)."),
    ("DELIVERED", "delivered to 3 recipient(s)", "Delivered to 3 recipient(s)."),
    ("DELIVERED", "no recipients", "There was no one to deliver to."),
    (
        "DELIVERY_FAILED",
        "recipient Hook (webhook), attempt 2: HTTP 503\nupstream down",
        "Hook (webhook), attempt 2 failed; it will be tried again: HTTP 503\nupstream down",
    ),
    (
        "DELIVERY_FAILED",
        "recipient Rae (email), attempt 8 (giving up; staff can retry): SMTPRecipientsRefused",
        "Rae (e-mail), attempt 8 failed; Cradle has stopped trying and staff can retry: SMTPRecipientsRefused",
    ),
]


@pytest.mark.parametrize(("status", "details", "english"), OLD_ROWS)
def test_the_migration_reads_every_old_text(status, details, english):
    data = migration.parse_details(status, details)
    assert data and log_text(status=status, data=data, details="") == english


def test_the_migration_fills_data_for_old_rows_and_leaves_the_rest(owner, make_message, monkeypatch):
    message = make_message(owner)
    # Unknown text, a known text under the wrong status, a time that is not one, no text.
    unknown = [
        ("WARNING_1", "demo"),
        ("WARNING_1", "reset from level 2"),
        ("WARNING_1", "warning 1 sent; next step at soon"),
        ("CONTINUED", ""),
    ]
    StatusLog.objects.bulk_create(
        StatusLog(message=message, status=status, details=details) for status, details, _e in OLD_ROWS
    )
    StatusLog.objects.bulk_create(
        StatusLog(message=message, status=status, details=details) for status, details in unknown
    )
    monkeypatch.setattr(migration, "BATCH", 4)  # several keyset batches
    migration.fill_data(apps, None)
    rows = list(StatusLog.objects.order_by("id"))
    assert [row.display_text for row in rows[: len(OLD_ROWS)]] == [english for _s, _d, english in OLD_ROWS]
    assert [row.data for row in rows[len(OLD_ROWS) :]] == [{}] * len(unknown)
    assert [row.display_text for row in rows[len(OLD_ROWS) :]] == [details for _s, details in unknown]
    staff_reset = StatusLog.objects.get(status="WARNING_RESET", details="by staff (root)")
    assert staff_reset.data == {"actor": {"kind": "staff", "name": "root"}}
