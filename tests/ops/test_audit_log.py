"""The audit log as its readers see it: the Activity page, its CSV and ``/api/v1/audit`` show
the caller's own events only (B never sees A's, not even through a cursor); the page's
filters, keyset pages and a CSV streamed in chunks, each at a flat query count; retention by
``purge_logs --table=audit`` only; and proof that the append-only guard fails a test that
updates or deletes an event.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cradle_site.audit_vocabulary import EventType
from ops import audit_views
from ops.audit import audit_purge, audit_record
from ops.audit_models import AppendOnlyError, AuditEvent
from tests.clock import NOW
from tests.conftest import audit_verdict, audit_writes_watched

pytestmark = pytest.mark.django_db


def _events(user, count: int, *, event_type: str = EventType.PROJECT_CREATED, start=NOW, label: str = "") -> None:
    for n in range(count):
        audit_record(event_type, user=user, label=label or f"{user.username}-{n}", now=start + timedelta(minutes=n))


def _csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def two_users(owner, other_user):
    _events(owner, 3, label="alice-thing")
    _events(other_user, 4, event_type=EventType.MESSAGE_CREATED, label="bob-thing")
    return owner, other_user


# B never sees A's events.


def test_the_page_shows_only_mine_even_with_anothers_cursor(client, two_users):
    alice, bob = two_users
    alices = list(AuditEvent.objects.filter(user=alice).values_list("pk", flat=True))
    client.force_login(bob)  # a log-in event of Bob's own
    for query in ({}, {"after": alices[-1]}, {"before": alices[0]}, {"type": EventType.PROJECT_CREATED}):
        response = client.get(reverse("ops:activity"), query)
        assert response.status_code == 200
        assert {event.user_id for event in response.context["page"].rows} <= {bob.pk}
        assert "alice-thing" not in response.content.decode()
    assert len(client.get(reverse("ops:activity")).context["page"].rows) == 5


def test_the_csv_holds_only_mine(client, two_users):
    alice, bob = two_users
    client.force_login(bob)
    rows = _csv_rows(client.get(reverse("ops:activity_csv")))
    assert len(rows) == 5 and {row["object_label"] for row in rows} == {"bob-thing", ""}  # "": the log-in
    assert _csv_rows(client.get(reverse("ops:activity_csv"), {"type": EventType.PROJECT_CREATED})) == []


def test_the_api_lists_only_mine_even_with_anothers_cursor(two_users, api_client_for, settings):
    alice, bob = two_users
    alice_api = api_client_for(alice, ["audit:read"])
    bob_api = api_client_for(bob, ["audit:read"])
    answer = alice_api.get("/api/v1/audit")
    assert answer.status_code == 200
    alices = {row["id"] for row in answer.json()["results"]}
    assert alices == set(AuditEvent.objects.filter(user=alice).values_list("pk", flat=True))
    mine = bob_api.get("/api/v1/audit").json()["results"]
    # Bob's four and the creation of his key.
    assert [row["event_type"] for row in mine] == [EventType.API_KEY_CREATED] + [EventType.MESSAGE_CREATED] * 4
    assert alices.isdisjoint({row["id"] for row in mine})
    assert bob_api.get("/api/v1/audit", {"event_type": EventType.PROJECT_CREATED}).json()["results"] == []


def test_the_api_follows_its_own_cursor_to_the_end_and_never_leaves_the_caller(owner, other_user, api_client_for):
    _events(owner, 120, label="alice-thing")
    _events(other_user, 60, label="bob-thing", start=NOW + timedelta(seconds=30))
    api = api_client_for(other_user, ["audit:read"])
    seen, url = [], "/api/v1/audit"
    while url:
        page = api.get(url).json()
        seen += page["results"]
        url = page["next"]
    assert [row["event_type"] for row in seen].count(EventType.PROJECT_CREATED) == 60  # and the key's creation
    assert {row["id"] for row in seen} == set(AuditEvent.objects.filter(user=other_user).values_list("pk", flat=True))


def test_the_api_needs_the_audit_read_scope_and_refuses_a_bad_type(owner, api_client_for):
    assert api_client_for(owner, ["messages:read"]).get("/api/v1/audit").status_code == 403
    bad = api_client_for(owner, ["audit:read"]).get("/api/v1/audit", {"event_type": "nope"})
    assert bad.status_code == 400 and "event_type" in bad.json()["error"]["fields"]


# The page's filters, pages and CSV.


def test_the_filters_select_by_type_and_by_day_in_my_time_zone(client, owner):
    owner.time_zone = "Asia/Shanghai"  # UTC+8: 17:00 UTC on the 10th is the 11th there
    owner.save()
    client.force_login(owner)  # its log-in event is today, outside the dates below
    audit_record(EventType.LOGIN, user=owner, now=NOW)  # 2025-03-10 20:00 in Shanghai
    audit_record(EventType.PROJECT_CREATED, user=owner, label="late", now=NOW.replace(hour=17))
    audit_record(EventType.PROJECT_CREATED, user=owner, label="early", now=NOW.replace(hour=1))
    page = reverse("ops:activity")

    def shown(**query) -> list[str]:
        return [e.object_label or e.event_type for e in client.get(page, query).context["page"].rows]

    assert shown(type=EventType.PROJECT_CREATED) == ["late", "early"]
    assert shown(start="2025-03-11", end="2025-03-11") == ["late"]
    assert shown(start="2025-03-10", end="2025-03-10") == [EventType.LOGIN, "early"]
    assert shown(type=EventType.LOGIN, start="2025-03-11", end="2025-03-12") == []
    # The CSV takes the same filters, and the page's link carries them.
    csv_rows = _csv_rows(client.get(reverse("ops:activity_csv"), {"start": "2025-03-11", "end": "2025-03-11"}))
    assert [row["object_label"] for row in csv_rows] == ["late"]
    assert "start=2025-03-11" in client.get(page, {"start": "2025-03-11"}).content.decode()


def test_bad_filters_are_a_clear_error_never_a_500(client, owner):
    _events(owner, 2)
    client.force_login(owner)
    response = client.get(reverse("ops:activity"), {"start": "2025-03-12", "end": "2025-03-11"})
    assert response.status_code == 200 and response.context["page"].rows == []
    assert "The end date is before the start date." in response.content.decode()
    bad = client.get(reverse("ops:activity_csv"), {"type": "no.such", "start": "tomorrow"})
    assert bad.status_code == 400 and b"type:" in bad.content and b"start:" in bad.content


def test_the_page_is_paged_by_keyset_and_its_query_count_is_flat(client, owner, other_user):
    client.force_login(owner)
    _events(owner, 3)
    client.get(reverse("ops:activity"))  # the pause banner's one read, then cached for a minute
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("ops:activity"))
    _events(owner, 2 * audit_views.ACTIVITY_PAGE_SIZE + 7, start=NOW + timedelta(days=1))
    _events(other_user, 30)
    seen, query = [], {}
    with CaptureQueriesContext(connection) as many:
        first = client.get(reverse("ops:activity"))
    page = first.context["page"]
    while True:
        seen += [event.pk for event in page.rows]
        if page.older is None:
            break
        query = {"after": page.older}
        with CaptureQueriesContext(connection) as later:
            page = client.get(reverse("ops:activity"), query).context["page"]
        assert len(later) <= len(many) + 1  # a cursor row's look-up, no more
    assert len(many) == len(few)
    assert len(seen) == len(set(seen)) == AuditEvent.objects.filter(user=owner).count()
    assert len(first.context["page"].rows) == audit_views.ACTIVITY_PAGE_SIZE


def test_the_csv_is_streamed_in_chunks_at_a_flat_query_count(client, owner, monkeypatch):
    monkeypatch.setattr(audit_views, "CSV_CHUNK_ROWS", 10)
    client.force_login(owner)
    _events(owner, 4)  # and the log-in's
    with CaptureQueriesContext(connection) as few:
        small = _csv_rows(client.get(reverse("ops:activity_csv")))
    _events(owner, 40, start=NOW + timedelta(days=1), label="=HYPERLINK(evil)")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("ops:activity_csv"))
        assert isinstance(response, StreamingHttpResponse)
        chunks = list(response.streaming_content)
    assert len(small) == 5 and len(many) == len(few)
    assert len(chunks) >= 4  # 45 rows in chunks of 10: memory stays flat on a long history
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 45 and rows[1]["object_label"] == "'=HYPERLINK(evil)"  # no formula in a spreadsheet
    assert response["Content-Disposition"] == 'attachment; filename="cradle-activity.csv"'


# Retention: purge_logs --table=audit, after AUDIT_RETENTION_DAYS, and nothing else.


def test_purge_deletes_only_events_older_than_the_setting(settings, owner, other_user):
    settings.AUDIT_RETENTION_DAYS = 30
    now = NOW + timedelta(days=100)
    audit_record(EventType.LOGIN, user=owner, now=now - timedelta(days=31))
    audit_record(EventType.LOGIN, user=other_user, now=now - timedelta(days=45))
    kept = [
        audit_record(EventType.LOGIN, user=owner, now=now - timedelta(days=29)),
        audit_record(EventType.LOGIN, user=other_user, now=now - timedelta(hours=1)),
    ]
    assert audit_purge(now=now, dry_run=True).rows == 2 and AuditEvent.objects.count() == 4
    result = audit_purge(now=now, batch_size=1)
    assert (result.rows, result.batches) == (2, 2)
    left = set(AuditEvent.objects.values_list("pk", flat=True))
    assert {event.pk for event in kept} <= left
    # The purge is an operation too: one event saying how many went, and nothing older stays.
    purged = AuditEvent.objects.get(event_type=EventType.AUDIT_PURGED)
    assert purged.extra_data["rows"] == 2 and purged.user_id is None
    assert left == {event.pk for event in kept} | {purged.pk}


def test_the_command_purges_the_audit_log_by_the_setting_only(settings, owner, capsys):
    settings.AUDIT_RETENTION_DAYS = 1
    audit_record(EventType.LOGIN, user=owner, now=NOW - timedelta(days=3000))
    audit_record(EventType.LOGIN, user=owner)
    with pytest.raises(CommandError, match="--days does not apply to the audit log"):
        call_command("purge_logs", "--table=audit", "--days=1")
    call_command("purge_logs", "--table=logs", "--days=1")
    call_command("purge_logs", "--table=all", "--days=1")
    assert AuditEvent.objects.count() == 2  # the other tables' purges never touch it
    call_command("purge_logs", "--table=audit", "--dry-run")
    assert AuditEvent.objects.count() == 2
    call_command("purge_logs", "--table=audit")
    assert "audit: deleted 1 rows" in capsys.readouterr().out
    assert set(AuditEvent.objects.values_list("event_type", flat=True)) == {EventType.LOGIN, EventType.AUDIT_PURGED}


def test_the_monthly_purge_job_leaves_the_audit_log_alone(settings, owner, monkeypatch):
    from ops import tasks

    monkeypatch.setattr(tasks, "db_vacuum", lambda progress: None)  # VACUUM needs no transaction around it
    audit_record(EventType.LOGIN, user=owner, now=NOW - timedelta(days=3000))
    tasks.purge_and_vacuum()
    assert AuditEvent.objects.filter(event_type=EventType.LOGIN).count() == 1


# Append-only: the model refuses, and the tests' guard catches what gets past the model.


def test_the_model_and_its_queryset_refuse_to_change_an_event(owner):
    event = audit_record(EventType.LOGIN, user=owner)
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(event_type=EventType.PASSWORD_CHANGED)
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.parametrize("how", ["base_manager_update", "raw_delete", "raw_sql_update", "raw_sql_delete"])
def test_the_guard_sees_every_way_past_the_model(owner, how, _audit_append_only):
    """The watch the autouse guard uses, on its own: each write is seen, so the guard's test fails."""
    event = audit_record(EventType.LOGIN, user=owner)
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with audit_writes_watched() as touched:
        AuditEvent.objects.filter(pk=event.pk).exists()  # a read is fine
        audit_record(EventType.LOGIN, user=owner)  # and so is an insert
        assert touched == []
        if how == "base_manager_update":
            AuditEvent._base_manager.filter(pk=event.pk).update(event_type=EventType.PASSWORD_CHANGED)
        elif how == "raw_delete":
            AuditEvent._base_manager.filter(pk=event.pk)._raw_delete(connection.alias)
        else:
            with connection.cursor() as cursor:
                verb = f"update {table} set ip = NULL" if how == "raw_sql_update" else f"delete from {table}"
                cursor.execute(f"{verb} where id = %s", [event.pk])
    assert len(touched) == 1
    with pytest.raises(pytest.fail.Exception, match="the audit log is append-only"):
        audit_verdict(touched)
    assert _audit_append_only == touched  # the autouse guard saw it too; cleared, as it is this test's own
    _audit_append_only.clear()


def test_a_test_that_updates_an_event_fails(owner, _audit_append_only):
    """The autouse guard itself: this test's own write is in its list, which would fail it at
    teardown; the test empties the list only after seeing the write there."""
    event = audit_record(EventType.LOGIN, user=owner)
    AuditEvent._base_manager.filter(pk=event.pk).update(ip="203.0.113.9")
    assert len(_audit_append_only) == 1 and "ops_auditevent" in _audit_append_only[0].lower()
    with pytest.raises(pytest.fail.Exception):
        audit_verdict(_audit_append_only)
    _audit_append_only.clear()


def test_the_purge_alone_may_delete(owner, _audit_append_only, settings):
    settings.AUDIT_RETENTION_DAYS = 1
    audit_record(EventType.LOGIN, user=owner, now=NOW - timedelta(days=10))
    audit_purge()
    assert _audit_append_only == []


def test_the_admin_filters_by_object_type_with_a_named_choice_for_none(client, staff, owner):
    audit_record(EventType.LOGIN, user=owner)
    project = audit_record(EventType.PROJECT_CREATED, user=owner, obj=(AuditEvent, 1))
    client.force_login(staff)
    changelist = reverse("admin:ops_auditevent_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    html = page.content.decode()
    assert "none (the account or the site)" in html and ">audit event<" in html
    none = client.get(changelist, {"object_type": "none"}).context["cl"].result_list
    assert project not in none and all(event.object_type == "" for event in none)
    by_type = client.get(changelist, {"object_type": "ops.auditevent"}).context["cl"].result_list
    assert list(by_type) == [project]


def test_the_api_query_count_is_flat(owner, api_client_for):
    api = api_client_for(owner, ["audit:read"])
    api.get("/api/v1/audit")  # the key's first use records it (one write), not counted below
    _events(owner, 3)
    with CaptureQueriesContext(connection) as few:
        assert api.get("/api/v1/audit").status_code == 200
    _events(owner, 150, start=NOW + timedelta(days=1))
    with CaptureQueriesContext(connection) as many:
        page = api.get("/api/v1/audit").json()
    with CaptureQueriesContext(connection) as next_page:
        api.get(page["next"])
    assert len(page["results"]) == 50 and len(many) == len(few) == len(next_page)
