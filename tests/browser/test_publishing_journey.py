"""End to end in headless Chromium, publishing and its statistics: create a project, add a
folder of posts, scan it, work the queue (move one post, cancel another), publish as a dry
run, then read the charts, in English and in Simplified Chinese."""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta

import pytest
from django.utils import dateformat, timezone
from django.utils.formats import date_format

from accounts.models import User
from analytics.demo import create_demo
from publishing.runner import publish_due
from publishing.services import project_create, task_create
from tests.browser.conftest import BROWSER, PASSWORD, choose_language, flash_text, log_in
from tests.publishing.conftest import png_bytes

pytestmark = BROWSER


def _row(page, text: str):
    return page.locator("tbody tr", has_text=text)


@pytest.fixture
def media_root(tmp_path, settings):
    root = (tmp_path / "media").resolve()
    root.mkdir()
    settings.PUBLISHING_LOCAL_ROOTS = [root]
    return root


def _posts_folder(root, user) -> str:
    """Three captioned pictures in ``cats`` inside the user's own folder; the path as they give it."""
    folder = root / str(user.pk) / "cats"
    folder.mkdir(parents=True)
    for index, caption in enumerate(["Morning cat", "Lunch cat", "Evening cat"]):
        (folder / f"{index}.png").write_bytes(png_bytes(index))
        (folder / f"{index}.txt").write_text(caption, encoding="utf-8")
    return "cats"


@pytest.mark.django_db(transaction=True)
def test_create_a_project_fill_the_queue_work_it_and_publish(live_server, page, media_root, monkeypatch):
    from django_q.conf import Conf

    # The scan job runs in the live server's thread here, at once: no cluster in this test.
    monkeypatch.setattr(Conf, "SYNC", True)
    pia = User.objects.create_user(username="pia", email="pia@example.com", password=PASSWORD, time_zone="Europe/Paris")
    posts_folder = _posts_folder(media_root, pia)
    dogs = project_create(owner=pia, name="Dogs")
    task_create(project=dogs, text="Dog of the day", scheduled_at=timezone.now() + timedelta(days=2))
    base = live_server.url
    log_in(page, base, "pia", "/publishing/")

    page.fill("#id_name", "Cats")
    page.fill("#id_description", "One cat a day")
    page.fill("#id_slot_times_text", "09:00, 13:30")
    page.click("#project-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/publishing/projects/\d+/$"))
    assert "Project created." in flash_text(page)
    assert page.inner_text("h1") == "Cats"
    assert "No credentials: posts are logged as a dry run" in page.content()
    assert page.input_value("#id_slot_times_text") == "09:00, 13:30"

    # A folder outside the user's own folder is refused; the settings form beside it still works.
    page.select_option("#id_source_type", "local_folder")
    page.fill("#id_path_or_identifier", "/etc")
    page.click("#source-form button[type=submit]")
    page.wait_for_load_state()
    assert "That path is not inside your folder." in page.inner_text("#source-form")
    page.fill("#id_slot_times_text", "18:00, 09:00")
    page.click("#project-form button[type=submit]")
    page.wait_for_load_state()
    assert "Project saved." in flash_text(page)
    assert page.input_value("#id_slot_times_text") == "09:00, 18:00"

    page.select_option("#id_source_type", "local_folder")
    page.fill("#id_path_or_identifier", posts_folder)
    page.click("#source-form button[type=submit]")
    page.wait_for_load_state()
    assert "Source added." in flash_text(page)
    page.click("text=Scan now")
    page.wait_for_load_state()
    assert "Scan queued" in flash_text(page)
    assert "3 new of 3 items" in page.inner_text("#sources")
    assert "pending: 3" in page.inner_text(".panel .actions")

    # The project's own queue, then narrowed to pending posts: still this project only.
    page.click(".panel .actions >> text=Queue")
    page.wait_for_load_state()
    for caption in ("Morning cat", "Lunch cat", "Evening cat"):
        assert "Pending" in _row(page, caption).inner_text()
    assert "Dog of the day" not in page.inner_text("tbody")
    page.select_option("#id_status", "pending")
    page.click("#queue-filter button")
    page.wait_for_load_state()
    assert page.locator("tbody tr").count() == 3, "filtering by status keeps the project"

    # Moving "Lunch cat" to yesterday morning (Paris time) is refused, with the reason.
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    yesterday = (timezone.now() - timedelta(days=1)).astimezone(paris).date()
    lunch = _row(page, "Lunch cat")
    lunch.locator("input[name=scheduled_at]").fill(f"{yesterday:%Y-%m-%d}T08:00")
    with page.expect_navigation():
        lunch.locator("text=Change").click()
    assert "That time has passed" in flash_text(page)
    # To this minute, Paris time, it goes: it is due now.
    now_here = timezone.now().astimezone(paris).replace(second=0, microsecond=0)
    lunch = _row(page, "Lunch cat")
    lunch.locator("input[name=priority]").fill("5")
    lunch.locator("input[name=scheduled_at]").fill(f"{now_here:%Y-%m-%dT%H:%M}")
    with page.expect_navigation():
        lunch.locator("text=Change").click()
    assert "Task updated." in flash_text(page)
    assert "Dog of the day" not in page.inner_text("tbody"), "an action keeps the queue's filters"
    lunch = _row(page, "Lunch cat")
    shown = dateformat.format(now_here, "m/d/Y P")
    assert shown in lunch.inner_text(), "shown back in Paris time, as typed"
    assert lunch.locator("td").nth(5).inner_text().strip() == "5"

    _row(page, "Evening cat").locator("text=Cancel").click()
    page.wait_for_load_state()
    assert "Task updated." in flash_text(page)
    assert page.locator("tbody tr").count() == 2, "the cancelled post leaves the pending view"

    stats = publish_due(run_seconds=5)
    assert stats.published == 1

    page.goto(f"{base}/publishing/queue/")  # opens on the upcoming posts only
    assert "Pending" in _row(page, "Morning cat").inner_text()
    assert "Lunch cat" not in page.inner_text("tbody") and "Evening cat" not in page.inner_text("tbody")
    page.click("nav.tabs >> text=All")
    page.wait_for_load_state()
    assert "Published" in _row(page, "Lunch cat").inner_text()
    assert "Cancelled" in _row(page, "Evening cat").inner_text()
    assert "Pending" in _row(page, "Morning cat").inner_text()
    assert "Retry" in _row(page, "Evening cat").inner_text()
    assert "Change" not in _row(page, "Lunch cat").inner_text()

    page.click("main >> text=Logs")
    page.wait_for_load_state()
    log = _row(page, "Lunch cat").inner_text()
    assert "Published" in log and "dry run" in log

    page.click("main >> text=Projects")
    page.wait_for_load_state()
    assert "1 pending · 1 published · 0 failed" in page.inner_text(".card >> nth=0")
    assert "1 pending · 0 published · 0 failed" in page.inner_text(".card >> nth=1")


def _chart_titles(page) -> list[str]:
    return [title.strip() for title in page.locator("figure.chart svg.chart-wide > title").all_text_contents()]


def _chart_summary(page, index: int = 0) -> str:
    """What a screen reader hears for a chart: its title and totals."""
    return page.locator("figure.chart svg.chart-wide > desc").nth(index).text_content()


@pytest.mark.django_db(transaction=True)
def test_statistics_charts_ranges_and_chinese(live_server, page):
    # India is 5:30 ahead of UTC: local hours are not UTC hours.
    lin = User.objects.create_user(username="lin", email="lin@example.com", password=PASSWORD, time_zone="Asia/Kolkata")
    create_demo(lin)  # two weeks of dry-run posts, some failed, aggregated hourly
    base = live_server.url
    log_in(page, base, "lin", "/publishing/")
    page.click("header >> text=Statistics")
    page.wait_for_load_state()

    assert page.inner_text("h1") == "Statistics"
    assert page.locator("figure.chart svg.chart-wide").count() == 6  # with the posts per network
    assert _chart_titles(page)[0] == "Posts per day by outcome"
    assert page.locator("figure.chart >> nth=0").locator("rect > title").count() > 0, "bars are drawn"
    totals = page.locator("#project-totals tbody tr", has_text="Demo history").locator("td").all_inner_texts()
    published_week = int(totals[1])
    assert published_week > 0
    assert f"Published: {published_week}," in _chart_summary(page), "the chart adds up to the table"

    # The last two days, per hour, through the range picker.
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo("Asia/Kolkata"))
    first = today - timedelta(days=1)
    page.fill("#id_from", f"{first:%Y-%m-%d}")
    page.fill("#id_to", f"{today:%Y-%m-%d}")
    page.select_option("#id_interval", "hour")
    page.click("#range-form button")
    page.wait_for_load_state()
    assert f"Showing {date_format(first)} to {date_format(today)}." in page.inner_text("#range-form")
    assert _chart_titles(page)[0] == "Posts per hour by outcome"
    assert page.input_value("#id_from") == f"{first:%Y-%m-%d}", "the picker keeps what was asked"
    assert page.input_value("#id_interval") == "hour"
    published_two_days = int(
        page.locator("#project-totals tbody tr", has_text="Demo history").locator("td").nth(1).inner_text()
    )
    assert 0 < published_two_days < published_week
    assert f"Published: {published_two_days}," in _chart_summary(page), "the hourly chart adds up to the table"

    # The project's own page keeps the range, and so does the way back.
    page.click("#project-totals >> text=Demo history")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "Statistics for Demo history"
    assert _chart_titles(page)[0] == "Posts per hour by outcome"
    assert page.inner_text(".cards .card >> nth=0").startswith(str(published_two_days))
    page.click("text=All statistics")
    page.wait_for_load_state()
    assert page.input_value("#id_interval") == "hour"

    # A range that ends before it starts is refused, and said so.
    page.fill("#id_from", f"{today:%Y-%m-%d}")
    page.fill("#id_to", f"{first:%Y-%m-%d}")
    page.click("#range-form button")
    page.wait_for_load_state()
    assert "The end date must be on or after the start date." in page.inner_text("#range-form")
    # No charts of some other range under the error: the page says to correct the dates.
    assert page.locator("figure.chart svg").count() == 0
    assert page.is_visible("#range-invalid")

    # In Simplified Chinese, through the language switcher.
    page.goto(f"{base}/stats/")
    choose_language(page, "zh-hans")
    page.wait_for_load_state()
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")
    headings = [page.inner_text("h1"), *page.locator("main h2").all_inner_texts(), *_chart_titles(page)]
    untranslated = [text for text in headings if re.fullmatch(r"[\x00-\x7f]+", text)]
    assert not untranslated, untranslated
    assert page.inner_text("h1") == "统计"
    form_text = page.inner_text("#range-form")
    assert re.search(r"[\u4e00-\u9fff]", form_text) and "Showing" not in form_text
