"""Statistics per network in Chromium at 390 px (and 1280 px), in English and Simplified Chinese:
the per-network chart is drawn once with every network in its legend, its numbers open as a
table with a column per network, the network filter narrows the publishing charts to one
network, and the page passes axe-core (no serious violation), the CSP and the sideways-scroll
check of every page (``test_every_page._check``)."""

from __future__ import annotations

import random
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from analytics.models import AnalyticsHourly
from analytics.rollup import rebuild
from publishing.models import Project
from tests.browser.conftest import BROWSER, PASSWORD, log_in
from tests.browser.test_every_page import _check, _watch_csp

pytestmark = BROWSER

NETWORKS = ("x", "mastodon", "bluesky")
LEGEND = {"en": ["X", "Mastodon", "Bluesky"], "zh-hans": ["X", "Mastodon", "Bluesky"]}


def _data(language: str) -> dict:
    user = User.objects.create_user(username="nets", email="nets@example.com", password=PASSWORD, language=language)
    project = Project.objects.create(owner=user, name="Three networks")
    rng = random.Random(19)
    now = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rows, published = [], dict.fromkeys(NETWORKS, 0)
    # The default range's hours: from the midnight six days ago (UTC, the user's zone) to now.
    first = now.replace(hour=0) - timedelta(days=6)
    for hour in range(int((now - first).total_seconds() // 3600) + 1):
        for network in NETWORKS:
            success = rng.randint(100, 900)
            published[network] += success
            rows.append(
                AnalyticsHourly(
                    project=project,
                    network=network,
                    hour_timestamp=now - timedelta(hours=hour),
                    posts_success=success,
                    posts_failed=rng.randint(0, 20),
                    failures_rate_limit=rng.randint(0, 5),
                    avg_duration=1.5,
                )
            )
    AnalyticsHourly.objects.bulk_create(rows)
    rebuild()
    return {"user": user, "project": project, "published": published}


@pytest.mark.one_database
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", (390, 1280))
@pytest.mark.parametrize("language", ("en", "zh-hans"))
def test_the_per_network_series_reads_on_a_phone_and_the_filter_narrows_it(live_server, page, language, width):
    data = _data(language)
    base = live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    console = _watch_csp(page, base)
    log_in(page, base, "nets", reverse("analytics:dashboard"))
    problems: list[str] = []
    dashboard = f"{base}{reverse('analytics:dashboard')}"
    page.goto(dashboard)
    figure = page.locator("figure#pub-networks")
    assert figure.count() == 1
    # One drawing shown (the narrow one at 390 px), named by its title.
    shown = figure.locator("svg.chart-svg:visible")
    assert shown.count() == 1
    wanted = "chart-narrow" if width < 760 else "chart-wide"
    assert wanted in shown.get_attribute("class")
    assert figure.locator("figcaption").inner_text().strip() == shown.locator("title").first.text_content().strip()
    assert [item.strip() for item in figure.locator(".chart-legend li").all_inner_texts()] == LEGEND[language]
    # The numbers: a column per network and a total; one row per day of the week.
    figure.locator("summary").click()
    table = figure.locator("table")
    assert table.is_visible()
    headings = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert headings[1:4] == LEGEND[language] and len(headings) == 5
    assert table.locator("tbody tr").count() == 7
    column_totals = [
        sum(int(row.locator("td").nth(index).inner_text().replace(",", "")) for row in table.locator("tbody tr").all())
        for index in range(3)
    ]
    assert column_totals == [data["published"][n] for n in NETWORKS]
    problems += _check(page, f"dashboard@{width}/{language}", console)

    # The filter: choose Bluesky in the range form and show.
    page.select_option("#id_network", "bluesky")
    page.click("#range-form button")
    page.wait_for_url("**network=bluesky**")
    assert page.locator("#network-shown").is_visible()
    assert "Bluesky" in page.locator("#network-shown").inner_text()
    networks = page.locator("figure#pub-networks")
    networks.locator("summary").click()
    rows = networks.locator("table tbody tr").all()
    assert (
        sum(int(row.locator("td").nth(2).inner_text().replace(",", "")) for row in rows) == data["published"]["bluesky"]
    )
    assert all(row.locator("td").nth(0).inner_text() == "0" for row in rows)  # X's column: nothing shown
    problems += _check(page, f"dashboard?network=bluesky@{width}/{language}", console)

    project_page = f"{base}{reverse('analytics:project_detail', args=[data['project'].pk])}?network=mastodon"
    page.goto(project_page)
    assert page.locator("figure#p{}-networks".format(data["project"].pk)).count() == 1
    problems += _check(page, f"project?network=mastodon@{width}/{language}", console)
    assert problems == [], "\n".join(problems)
