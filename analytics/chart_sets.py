"""Which charts a statistics page shows, built from the selectors' series."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from analytics.aggregate import FAILURE_FIELDS
from analytics.charts import Series, line_chart, stacked_bar_chart
from analytics.selectors import SeriesRange
from publishing.models import PublishingLog

# One series per failure column: a failure with no kind recorded is in "other"'s.
CHARTED_KINDS = [kind for kind in PublishingLog.ErrorKind if kind != PublishingLog.ErrorKind.NONE]


def publishing_charts(points: list[dict], rng: SeriesRange, *, prefix: str = "pub") -> list[SafeString]:
    labels = [rng.label(p["start"]) for p in points]
    per = {"hour": _("per hour"), "week": _("per week")}.get(rng.interval, _("per day"))
    empty = _("No data in this range")
    charts = [
        stacked_bar_chart(
            chart_id=f"{prefix}-posts",
            title=_("Posts %(per)s by outcome") % {"per": per},
            labels=labels,
            series=[
                Series(_("Published"), [p["posts_success"] for p in points], "#2e7d32"),
                Series(_("Failed"), [p["posts_failed"] for p in points], "#c62828"),
                Series(_("Skipped"), [p["posts_skipped"] for p in points], "#9e9e9e"),
            ],
            y_label=_("posts"),
            empty_text=empty,
        ),
        line_chart(
            chart_id=f"{prefix}-duration",
            title=_("Average publishing time"),
            labels=labels,
            series=[Series(_("Seconds"), [p["avg_duration"] for p in points], "#1565c0")],
            y_label=_("seconds"),
            empty_text=empty,
        ),
        stacked_bar_chart(
            chart_id=f"{prefix}-failures",
            title=_("Failures %(per)s by kind") % {"per": per},
            labels=labels,
            series=[Series(kind.label, [p[FAILURE_FIELDS[kind]] for p in points]) for kind in CHARTED_KINDS],
            y_label=_("failures"),
            empty_text=empty,
        ),
    ]
    # The SVG builders escape every text they are given.
    return [mark_safe(chart) for chart in charts]  # noqa: S308


def message_charts(points: list[dict], rng: SeriesRange) -> list[SafeString]:
    labels = [rng.label(p["start"]) for p in points]
    per = {"hour": _("per hour"), "week": _("per week")}.get(rng.interval, _("per day"))
    warnings = [sum(p[f"warnings_{level}"] for level in range(1, 6)) for p in points]
    chart = stacked_bar_chart(
        chart_id="msg-activity",
        title=_("Message activity %(per)s") % {"per": per},
        labels=labels,
        series=[
            Series(_("Warnings"), warnings, "#ef6c00"),
            Series(_("Resets"), [p["resets"] for p in points], "#2e7d32"),
            Series(_("Continues"), [p["continues"] for p in points], "#00838f"),
            Series(_("Revocations"), [p["revocations"] for p in points], "#6a1b9a"),
            Series(_("Deliveries"), [p["deliveries"] for p in points], "#1565c0"),
            Series(_("Failed deliveries"), [p["delivery_failures"] for p in points], "#c62828"),
        ],
        y_label=_("events"),
        empty_text=_("No data in this range"),
    )
    levels = stacked_bar_chart(
        chart_id="msg-warnings",
        title=_("Warnings %(per)s by level") % {"per": per},
        labels=labels,
        series=[
            Series(_("Level %(n)d") % {"n": level}, [p[f"warnings_{level}"] for p in points]) for level in range(1, 6)
        ],
        y_label=_("warnings"),
        empty_text=_("No data in this range"),
    )
    return [mark_safe(chart), mark_safe(levels)]  # noqa: S308
