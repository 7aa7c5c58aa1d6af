"""The statistics charts as drawn by Chromium, at 390 px and 1280 px, in English and Simplified
Chinese, with every series present and counts in the hundreds of thousands (the longest tick,
legend and axis labels): boxes computed in the browser.

- exactly one drawing of each chart is shown, it has role="img", its name is the chart's
  title and it has a description;
- no two texts of a drawing overlap and none sticks out of the drawing; drawn text is at
  least 9 px tall on screen (the font size times the drawing's scale);
- the legend lists every series, whole (限流 labels not cut short; "Other" not dropped), no two
  items overlap and none leaves the figure or the viewport;
- the table of the numbers opens and has one row per bucket; the page never scrolls sideways;
- the date fields show the range in force, also when it was defaulted.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from analytics.chart_sets import CHARTED_KINDS
from analytics.models import AnalyticsHourly, MessageHourly
from publishing.models import Project
from tests.browser.conftest import BROWSER, PASSWORD, log_in

pytestmark = BROWSER

MIN_TEXT_PX = 9

CHECK = """
() => {
  const problems = [];
  const vw = document.documentElement.clientWidth;
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5
    && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
  const outside = (r, box) => r.left < box.left - 0.5 || r.right > box.right + 0.5
    || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5;
  const charts = {};
  for (const fig of document.querySelectorAll('figure.chart')) {
    const id = fig.id;
    const caption = fig.querySelector('figcaption').textContent.trim();
    const shown = [...fig.querySelectorAll('svg.chart-svg')].filter(s => getComputedStyle(s).display !== 'none');
    if (shown.length !== 1) { problems.push(`${id}: ${shown.length} drawings shown`); continue; }
    const svg = shown[0];
    if (svg.getAttribute('role') !== 'img') problems.push(`${id}: the drawing has no role="img"`);
    const title = document.getElementById(svg.getAttribute('aria-labelledby'));
    if (!title || title.textContent.trim() !== caption) problems.push(`${id}: the drawing is not named by its title`);
    const desc = document.getElementById(svg.getAttribute('aria-describedby'));
    if (!desc || !desc.textContent.trim()) problems.push(`${id}: the drawing has no description`);
    const box = svg.getBoundingClientRect();
    if (box.left < -0.5 || box.right > vw + 0.5) problems.push(`${id}: the drawing is wider than the screen`);
    const scale = svg.getScreenCTM().a;
    const texts = [...svg.querySelectorAll('text')];
    const rects = texts.map(t => t.getBoundingClientRect());
    let smallest = Infinity;
    texts.forEach((t, i) => {
      const label = t.textContent;
      if (outside(rects[i], box)) problems.push(`${id}: "${label}" is cut by the drawing's edge`);
      const size = parseFloat(getComputedStyle(t).fontSize) * scale;
      smallest = Math.min(smallest, size);
      if (size < MIN_PX) problems.push(`${id}: "${label}" is ${size.toFixed(1)} px tall`);
      for (let j = 0; j < i; j++) {
        if (overlap(rects[i], rects[j])) problems.push(`${id}: "${label}" overlaps "${texts[j].textContent}"`);
      }
    });
    const figBox = fig.getBoundingClientRect();
    const items = [...fig.querySelectorAll('.chart-legend li')];
    const itemBoxes = items.map(li => li.getBoundingClientRect());
    items.forEach((li, i) => {
      const label = li.textContent.trim();
      const r = itemBoxes[i];
      if (outside(r, figBox) || r.right > vw + 0.5) problems.push(`${id}: legend "${label}" leaves the figure`);
      const text = li.querySelector('span').getBoundingClientRect();
      if (outside(text, r)) problems.push(`${id}: legend "${label}" is cut`);
      const size = parseFloat(getComputedStyle(li).fontSize);
      if (size < MIN_PX) problems.push(`${id}: legend "${label}" is ${size} px`);
      for (let j = 0; j < i; j++) {
        if (overlap(r, itemBoxes[j])) problems.push(`${id}: legend "${label}" overlaps "${items[j].textContent.trim()}"`);
      }
    });
    charts[id] = {legend: items.map(li => li.textContent.trim()), texts: texts.length, smallest: smallest};
  }
  const scroll = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  if (scroll > 0) problems.push(`the page scrolls ${scroll} px sideways`);
  return {problems, charts};
}
""".replace("MIN_PX", str(MIN_TEXT_PX))


def _data(language: str) -> dict:
    """A user with a project and message history in every hour of the last 31 days, every
    series non-zero and counts large enough for six-digit tick labels."""
    user = User.objects.create_user(username="charts", email="charts@example.com", password=PASSWORD, language=language)
    project = Project.objects.create(owner=user, name="Longest labels")
    rng = random.Random(18)
    now = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=h) for h in range(31 * 24)]
    AnalyticsHourly.objects.bulk_create(
        AnalyticsHourly(
            project=project,
            hour_timestamp=hour,
            posts_success=rng.randint(4000, 9000),
            posts_failed=rng.randint(100, 900),
            posts_skipped=rng.randint(100, 900),
            avg_duration=round(rng.uniform(0.3, 12.5), 2),
            **{
                f"failures_{kind}": rng.randint(10, 120)
                for kind in ("rate_limit", "auth", "duplicate", "media", "server", "network", "other")
            },
        )
        for hour in hours
    )
    MessageHourly.objects.bulk_create(
        MessageHourly(
            user=user,
            hour_timestamp=hour,
            **{f"warnings_{level}": rng.randint(1, 40) for level in range(1, 6)},
            resets=rng.randint(1, 40),
            continues=rng.randint(1, 40),
            revocations=rng.randint(1, 40),
            deliveries=rng.randint(1, 40),
            delivery_failures=rng.randint(1, 40),
        )
        for hour in hours
    )
    return {"user": user, "project": project, "today": now.date()}


def _pages(data: dict) -> list[tuple[str, str, int, str]]:
    """(path, query, buckets, first day) for each chart page and range worth drawing."""
    today = data["today"]
    week = (today - timedelta(days=6)).isoformat()
    month = (today - timedelta(days=30)).isoformat()
    dashboard = reverse("analytics:dashboard")
    project = reverse("analytics:project_detail", args=[data["project"].pk])
    return [
        (dashboard, "", 7, week),  # the defaulted range: the fields must still show it
        (dashboard, "?interval=hour", 7 * 24, week),
        (dashboard, f"?from={month}&to={today}", 31, month),
        (project, "?interval=hour", 7 * 24, week),
    ]


def _expected_failure_legend(language: str) -> list[str]:
    with translation.override(language):
        return [str(kind.label) for kind in CHARTED_KINDS]


@pytest.mark.one_database
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", (390, 1280))
@pytest.mark.parametrize("language", ("en", "zh-hans"))
def test_charts_legends_and_labels_fit_and_stay_legible(live_server, page, language, width):
    data = _data(language)
    base = live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    log_in(page, base, "charts", reverse("analytics:dashboard"))
    problems: list[str] = []
    failure_legend = _expected_failure_legend(language)
    if language == "zh-hans":
        # Translated, not the English fallback: the legend under test holds Chinese labels.
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in failure_legend), failure_legend
    for path, query, buckets, first_day in _pages(data):
        url = f"{base}{path}{query}"
        page.goto(url)
        assert page.evaluate("document.documentElement.lang") == language
        result = page.evaluate(CHECK)
        problems += [f"{path}{query}: {problem}" for problem in result["problems"]]
        charts = result["charts"]
        assert len(charts) == (6 if path == reverse("analytics:dashboard") else 4), charts.keys()
        failures = next(chart for chart_id, chart in charts.items() if chart_id.endswith("-failures"))
        assert failures["legend"] == failure_legend, "every failure kind in the legend, whole"
        assert all(chart["texts"] > 5 for chart in charts.values()), "axes are labelled"
        assert page.input_value("#id_from") == first_day, "the picker shows the range in force"
        assert page.input_value("#id_to") == data["today"].isoformat()
        # The numbers as a table: one row per bucket, inside the screen even on a phone.
        figure = page.locator("figure.chart").first
        figure.locator("summary").click()
        assert figure.locator("table tbody tr").count() == buckets
        assert figure.locator("table").is_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            problems.append(f"{path}{query}: the open table scrolls the page {overflow} px sideways")
        if os.environ.get("CRADLE_SCREENSHOTS"):
            for index in range(page.locator("figure.chart").count()):
                shot = f"/tmp/charts-{language}-{width}-{buckets}-{index}.png"
                page.locator("figure.chart").nth(index).screenshot(path=shot)
    assert problems == [], "\n".join(problems)
