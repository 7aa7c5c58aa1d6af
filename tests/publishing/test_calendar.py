"""The calendar: posts laid on the owner's local days, each project's free slots as empty
boxes (past, taken and over-the-cap slots are not offered), the move a drop or the "Move to"
list makes (a past time refused with its reason), owner scoping, and query counts that do
not grow from 100 to 10,000 tasks."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from ops.audit_models import AuditEvent
from publishing import calendar_grid
from publishing.composer import PostIn, post_create
from publishing.factories import tasks_bulk_create
from publishing.models import PublishingTask
from publishing.services import project_create, task_create, task_reschedule
from tests.clock import NOW

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
Status = PublishingTask.Status
MOVE = "publishing:calendar_move"


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)  # Monday 2025-03-10 12:00 UTC, 20:00 in Shanghai


@pytest.fixture
def shanghai_owner(owner) -> User:
    owner.time_zone = "Asia/Shanghai"
    owner.save(update_fields=["time_zone"])
    return owner


@pytest.fixture
def slotted(shanghai_owner):
    return project_create(owner=shanghai_owner, name="Slots", slot_times=["Mon-Fri 09:00", "17:00"])


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


TUESDAY, WEDNESDAY, SATURDAY = date(2025, 3, 11), date(2025, 3, 12), date(2025, 3, 15)


def week(owner, **kwargs) -> calendar_grid.Calendar:
    return calendar_grid.build(owner=owner, view="week", anchor=NOW.date(), zone=SHANGHAI, **kwargs)


def day_of(grid: calendar_grid.Calendar, day: date) -> calendar_grid.Day:
    return next(cell for row in grid.weeks for cell in row if cell.day == day)


def test_a_week_runs_monday_to_sunday_and_a_month_covers_its_whole_weeks():
    assert calendar_grid.date_range("week", date(2025, 3, 13)) == (date(2025, 3, 10), date(2025, 3, 16))
    # March 2025 starts on a Saturday and ends on a Monday.
    assert calendar_grid.date_range("month", date(2025, 3, 20)) == (date(2025, 2, 24), date(2025, 4, 6))


def test_posts_sit_on_the_owners_local_day_and_free_slots_are_the_empty_boxes(shanghai_owner, slotted):
    # 09:00 Shanghai on Tuesday is 01:00 UTC: the UTC day would be right here, so take a time
    # whose UTC day differs: 07:00 Wednesday in Shanghai is 23:00 UTC on Tuesday.
    tuesday_nine = task_create(project=slotted, text="Tuesday nine", scheduled_at=local(TUESDAY, 9))
    early = task_create(project=slotted, text="Early Wednesday", scheduled_at=local(WEDNESDAY, 7))
    failed = task_create(project=slotted, text="Failed one", scheduled_at=local(SATURDAY, 17))
    PublishingTask.objects.filter(pk=failed.pk).update(status=Status.FAILED)
    gone = task_create(project=slotted, text="Cancelled", scheduled_at=local(TUESDAY, 12))
    PublishingTask.objects.filter(pk=gone.pk).update(status=Status.CANCELLED)

    grid = week(shanghai_owner)
    assert [item.task.pk for item in day_of(grid, TUESDAY).items] == [tuesday_nine.pk]
    assert [item.task.pk for item in day_of(grid, WEDNESDAY).items] == [early.pk]
    assert [item.movable for item in day_of(grid, SATURDAY).items] == [False]  # failed: shown, not dragged
    # Monday's slots (01:00 and 09:00 UTC) have passed at 12:00 UTC; Tuesday's 09:00 is taken.
    assert day_of(grid, date(2025, 3, 10)).slots == []
    assert [s.at for s in day_of(grid, TUESDAY).slots] == [local(TUESDAY, 17).astimezone(UTC)]
    assert len(day_of(grid, WEDNESDAY).slots) == 2
    # Saturday has only the every-day 17:00, and a failed post does not hold its slot.
    assert [s.at for s in day_of(grid, SATURDAY).slots] == [local(SATURDAY, 17).astimezone(UTC)]
    # Each post's "Move to" list offers its project's free slots, soonest first.
    choices = day_of(grid, TUESDAY).items[0].choices
    assert choices[0] == local(TUESDAY, 17).astimezone(UTC) and choices == sorted(choices)


def test_a_day_at_its_cap_offers_no_slot(shanghai_owner):
    capped = project_create(owner=shanghai_owner, name="Capped", slot_times=["09:00", "17:00"], daily_cap=1)
    task_create(project=capped, text="The one", scheduled_at=local(WEDNESDAY, 12))
    grid = week(shanghai_owner)
    assert day_of(grid, WEDNESDAY).slots == []
    assert len(day_of(grid, TUESDAY).slots) == 1  # the cap: one of the two


def test_an_every_n_minutes_project_draws_no_boxes(shanghai_owner):
    project_create(owner=shanghai_owner, name="Hourly", slot_interval_minutes=60)
    assert all(cell.slots == [] for row in week(shanghai_owner).weeks for cell in row)


def test_the_page_shows_only_the_owners_posts(client, shanghai_owner, slotted, other_user):
    mine = task_create(project=slotted, text="Mine on Tuesday", scheduled_at=local(TUESDAY, 9))
    theirs = project_create(owner=other_user, name="Theirs", slot_times=["10:00"])
    task_create(project=theirs, text="Not yours", scheduled_at=local(TUESDAY, 10))
    client.force_login(shanghai_owner)
    body = client.get(reverse("publishing:calendar")).content.decode()
    assert "Mine on Tuesday" in body and f'data-task="{mine.pk}"' in body
    assert "Not yours" not in body and "Theirs" not in body
    assert 'class="calendar-slot"' in body
    # Their project's id as a filter shows nothing of theirs either.
    body = client.get(reverse("publishing:calendar") + f"?project={theirs.pk}").content.decode()
    assert "Not yours" not in body and "Mine on Tuesday" not in body
    # A month, and nonsense in the query string, still answer.
    assert client.get(reverse("publishing:calendar") + "?view=month&start=2025-04-02").status_code == 200
    assert client.get(reverse("publishing:calendar") + "?view=year&start=not-a-day&project=x").status_code == 200
    for far in ("9999-12-31", "0001-01-01"):  # outside the site's dates: this week, not an overflow
        assert client.get(reverse("publishing:calendar") + f"?view=month&start={far}").status_code == 200
        assert client.get(reverse("publishing:task_list") + f"?on={far}").status_code == 200


def test_a_drop_on_a_slot_moves_the_post_and_writes_one_audit_event(client, shanghai_owner, slotted):
    task = task_create(project=slotted, text="Move me", scheduled_at=local(TUESDAY, 9))
    client.force_login(shanghai_owner)
    before = AuditEvent.objects.count()
    target = local(WEDNESDAY, 17).astimezone(UTC)
    answer = client.post(reverse(MOVE, args=[task.pk]), {"at": target.isoformat()}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200 and answer.json()["ok"] is True
    task.refresh_from_db()
    assert task.scheduled_at == target
    assert list(AuditEvent.objects.order_by("-id").values_list("event_type", flat=True)[:1]) == ["task.changed"]
    assert AuditEvent.objects.count() == before + 1


def test_a_drop_on_a_day_keeps_the_time_of_day_in_the_owners_zone(client, shanghai_owner, slotted):
    task = task_create(project=slotted, text="Keep my time", scheduled_at=local(TUESDAY, 7, 30))
    client.force_login(shanghai_owner)
    answer = client.post(reverse(MOVE, args=[task.pk]), {"day": "2025-03-14"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    task.refresh_from_db()
    assert task.scheduled_at == local(date(2025, 3, 14), 7, 30)


def test_a_move_into_the_past_is_refused_with_its_reason_and_changes_nothing(client, shanghai_owner, slotted):
    task = task_create(project=slotted, text="Not backwards", scheduled_at=local(TUESDAY, 9))
    client.force_login(shanghai_owner)
    past = (NOW - timedelta(hours=2)).isoformat()
    answer = client.post(reverse(MOVE, args=[task.pk]), {"at": past}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 400
    assert "passed" in answer.json()["message"]
    # The form's path (no JSON): a redirect back with the reason as the page's message.
    answer = client.post(
        reverse(MOVE, args=[task.pk]), {"day": "2025-03-01", "next": "/publishing/calendar/"}, follow=True
    )
    assert answer.redirect_chain[-1][0] == "/publishing/calendar/"
    assert "That time has passed" in answer.content.decode()
    task.refresh_from_db()
    assert task.scheduled_at == local(TUESDAY, 9)
    with pytest.raises(Exception, match="passed"):
        task_reschedule(task=task, scheduled_at=NOW - timedelta(minutes=10))
    # Within a few minutes of now is "now": a form's minutes, a slow click.
    task_reschedule(task=task, scheduled_at=NOW - timedelta(minutes=1))


def test_the_composer_refuses_a_past_time_too(slotted):
    with pytest.raises(Exception, match="passed"):
        post_create(project=slotted, posts=[PostIn(text="Yesterday")], scheduled_at=NOW - timedelta(days=1))
    assert not PublishingTask.objects.exists()


def test_next_free_slot_bad_input_others_posts_and_published_posts(client, shanghai_owner, slotted, other_user):
    task = task_create(project=slotted, text="Next please", scheduled_at=local(SATURDAY, 17))
    client.force_login(shanghai_owner)
    assert client.post(reverse(MOVE, args=[task.pk]), {"at": "next"}).status_code == 302
    task.refresh_from_db()
    assert task.scheduled_at == local(TUESDAY, 9).astimezone(UTC)  # Monday's have passed
    for bad in ({"at": "soon"}, {"at": "2025-03-12T09:00"}, {"day": "31/12"}, {}):
        answer = client.post(reverse(MOVE, args=[task.pk]), bad, HTTP_ACCEPT="application/json")
        assert answer.status_code == 400 and answer.json()["message"]
    theirs = project_create(owner=other_user, name="Theirs", slot_times=["10:00"])
    their_task = task_create(project=theirs, text="Theirs", scheduled_at=local(TUESDAY, 10))
    assert client.post(reverse(MOVE, args=[their_task.pk]), {"at": "next"}).status_code == 404
    PublishingTask.objects.filter(pk=task.pk).update(status=Status.SUCCESS)
    answer = client.post(reverse(MOVE, args=[task.pk]), {"at": "next"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 400 and "pending" in answer.json()["message"]


def test_a_viewer_sees_the_calendar_but_cannot_move_a_post(client, shanghai_owner, slotted):
    task = task_create(project=slotted, text="Read only", scheduled_at=local(TUESDAY, 9))
    shanghai_owner.role = User.Role.VIEWER
    shanghai_owner.save(update_fields=["role"])
    client.force_login(shanghai_owner)
    body = client.get(reverse("publishing:calendar")).content.decode()
    assert "Read only" in body and "draggable" not in body and f'id="move-{task.pk}"' not in body
    assert client.post(reverse(MOVE, args=[task.pk]), {"at": "next"}).status_code == 403


def test_the_list_of_one_day_shows_that_days_posts(client, shanghai_owner, slotted):
    task_create(project=slotted, text="On Tuesday", scheduled_at=local(TUESDAY, 9))
    task_create(project=slotted, text="On Wednesday", scheduled_at=local(WEDNESDAY, 7))  # Tuesday in UTC
    client.force_login(shanghai_owner)
    body = client.get(reverse("publishing:task_list") + "?tab=all&on=2025-03-11").content.decode()
    assert "On Tuesday" in body and "On Wednesday" not in body


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_calendar_and_list_queries_do_not_grow_from_100_to_10000_tasks(
    client, shanghai_owner, slotted, django_assert_max_num_queries
):
    def add(count: int, label: str) -> None:
        tasks = tasks_bulk_create(project=slotted, count=count, scheduled_at=NOW, label=label, thread_every=5)
        # Spread over the month, every few minutes, so each day is full.
        for n, task in enumerate(tasks):
            task.scheduled_at = NOW + timedelta(minutes=5 * n * 100 // count + n % 7)
        PublishingTask.objects.bulk_update(tasks, ["scheduled_at"], batch_size=2000)

    add(100, "a")
    client.force_login(shanghai_owner)
    urls = [
        reverse("publishing:calendar"),
        reverse("publishing:calendar") + "?view=month",
        reverse("publishing:calendar") + f"?view=month&project={slotted.pk}",
        reverse("publishing:task_list") + "?tab=all&on=2025-03-11",
    ]
    small = {url: _queries(client, url) for url in urls}
    add(9900, "b")
    assert PublishingTask.objects.count() == 10000
    for url in urls:
        with django_assert_max_num_queries(small[url]):
            body = client.get(url).content.decode()
        if "calendar" in url and "month" in url:
            assert "more posts" in body  # capped per day, the rest counted


def test_the_calendars_range_query_reads_the_owner_time_index(shanghai_owner, slotted):
    """The range read is on (owner, scheduled_at): the plan names the index, on either database."""
    tasks_bulk_create(project=slotted, count=50, scheduled_at=NOW, label="i")
    grid_sql = []
    with CaptureQueriesContext(connection) as captured:
        week(shanghai_owner)
    grid_sql = [q["sql"] for q in captured.captured_queries if "scheduled_at" in q["sql"] and "IN (" in q["sql"]]
    assert grid_sql, "the range query ran"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + grid_sql[0])
            plan = " ".join(str(row) for row in cursor.fetchall())
        else:
            cursor.execute("EXPLAIN " + grid_sql[0])
            plan = " ".join(str(row) for row in cursor.fetchall())
    assert "ix_tasks_owner" in plan or "ix_tasks_project" in plan, plan


def test_the_api_refuses_a_move_into_the_past_with_a_400_on_the_field(api_client_for, shanghai_owner, slotted):
    task = task_create(project=slotted, text="API move", scheduled_at=local(TUESDAY, 9))
    api = api_client_for(shanghai_owner, ["publishing:read", "publishing:write"])
    url = f"/api/v1/publishing/tasks/{task.pk}/change"
    response = api.post(url, {"scheduled_at": (NOW - timedelta(days=1)).isoformat()}, format="json")
    assert response.status_code == 400
    assert "passed" in " ".join(response.json()["error"]["fields"]["scheduled_at"])
    task.refresh_from_db()
    assert task.scheduled_at == local(TUESDAY, 9)
    later = local(WEDNESDAY, 17)
    assert api.post(url, {"scheduled_at": later.isoformat()}, format="json").status_code == 200
    task.refresh_from_db()
    assert task.scheduled_at == later
