"""The calendar in headless Chromium: a post dragged onto a free slot moves there (the task's
time changes in the database); the keyboard's path, the post's "Move to" list worked with
Tab, arrows and Enter, does the same; the week and month pass axe-core with no horizontal
scrolling at 390 px and 1280 px, in English and Simplified Chinese, under the real CSP."""

from __future__ import annotations

import time as wall
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from publishing.models import PublishingTask
from publishing.services import project_create, task_create
from tests.browser.conftest import BROWSER, PASSWORD, log_in
from tests.browser.test_every_page import _check, _watch_csp

pytestmark = BROWSER


def _wait_for_time(task: PublishingTask, expected: datetime, seconds: float = 10) -> datetime:
    deadline = wall.monotonic() + seconds
    while True:
        task.refresh_from_db()
        if task.scheduled_at == expected or wall.monotonic() > deadline:
            return task.scheduled_at
        wall.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_drag_a_post_to_a_free_slot_then_move_another_with_the_keyboard(live_server, page):
    ada = User.objects.create_user(username="ada", email="ada@example.com", password=PASSWORD, time_zone="UTC")
    project = project_create(owner=ada, name="Slots", slot_times=["09:00", "17:00"])
    tomorrow = timezone.now().astimezone(UTC).date() + timedelta(days=1)
    nine = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=UTC)
    dragged = task_create(project=project, text="Drag me to five", scheduled_at=nine)
    keyed = task_create(project=project, text="Move me by keys", scheduled_at=nine + timedelta(hours=3))
    base = live_server.url
    console = _watch_csp(page, base)
    # Tall enough that nothing scrolls between the press and the drop: a scroll while the
    # button is down would put another card under the pointer when the drag starts.
    page.set_viewport_size({"width": 1280, "height": 1400})
    log_in(page, base, "ada", "/publishing/calendar/")
    page.goto(f"{base}/publishing/calendar/?view=week&start={tomorrow.isoformat()}")

    day = page.locator(f"section[data-day='{tomorrow.isoformat()}']")
    five = day.locator(f".calendar-slot[data-project='{project.pk}']").first
    assert parse_datetime(five.get_attribute("data-at")) == nine + timedelta(hours=8)
    # Taken by its time, the top of the card (a press on its "Move to" list opens the list).
    page.drag_and_drop(
        f"#item-{dragged.pk}",
        f"section[data-day='{tomorrow.isoformat()}'] .calendar-slot",
        source_position={"x": 30, "y": 10},
    )
    assert _wait_for_time(dragged, nine + timedelta(hours=8)) == nine + timedelta(hours=8)
    page.wait_for_load_state("load")
    page.wait_for_selector(f"#item-{keyed.pk}")

    # The keyboard: Tab onto the post's "Move to" list, the arrows to a slot, Tab, Enter.
    select = page.locator(f"#move-{keyed.pk}")
    page.locator(f"#item-{keyed.pk} a").focus()
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == f"move-{keyed.pk}":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"move-{keyed.pk}"
    page.keyboard.press("ArrowDown")  # "The next free slot"
    page.keyboard.press("ArrowDown")  # the soonest free slot of the week shown
    chosen = parse_datetime(select.input_value())
    assert chosen > timezone.now() and (chosen.hour, chosen.minute) in ((9, 0), (17, 0))
    assert chosen <= nine  # tomorrow's 09:00 was freed by the drag: nothing later comes first
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    assert _wait_for_time(keyed, chosen) == chosen
    assert "Moved to" in page.inner_text("ul.flash")

    problems = []
    for view in ("week", "month"):
        for language in ("en", "zh-hans"):
            # The log-in set the language cookie, which wins over the account's setting.
            page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
            for width in (390, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{base}/publishing/calendar/?view={view}&start={tomorrow.isoformat()}")
                assert page.evaluate("document.documentElement.lang").lower() == language
                problems += _check(page, f"calendar {view}@{width}/{language}", console)
    assert problems == [], "\n".join(problems)
