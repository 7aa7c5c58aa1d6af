"""Which charts a statistics page shows, built from the selectors' series.

Each series names its meaning (``analytics.palette``), so it has the same colour on every
chart and page.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from analytics.aggregate import FAILURE_FIELDS
from analytics.charts import Chart, Series, line_chart, stacked_bar_chart
from analytics.selectors import SeriesRange
from publishing.models import Network, PublishingLog

# One series per failure column: a failure with no kind recorded is in "other"'s.
CHARTED_KINDS = [kind for kind in PublishingLog.ErrorKind if kind != PublishingLog.ErrorKind.NONE]


def _axes(points: list[dict], rng: SeriesRange) -> dict:
    """Labels, the narrow drawing's shorter labels, the table's first heading, "per hour/day"."""
    labels = [rng.label(p["start"]) for p in points]
    if rng.interval == "hour":
        return {"labels": labels, "axis_labels": None, "label_heading": _("Hour"), "per": _("per hour")}
    # Day and week labels are YYYY-MM-DD (a week by its first day): the narrow axis drops the
    # year (the table keeps it).
    short = [p["start"].astimezone(rng.tz).strftime("%m-%d") for p in points]
    if rng.interval == "week":
        return {"labels": labels, "axis_labels": short, "label_heading": _("Week of"), "per": _("per week")}
    return {"labels": labels, "axis_labels": short, "label_heading": _("Day"), "per": _("per day")}


def publishing_charts(points: list[dict], rng: SeriesRange, *, prefix: str = "pub") -> list[Chart]:
    axes = _axes(points, rng)
    per = axes.pop("per")
    empty = _("No data in this range")
    return [
        stacked_bar_chart(
            chart_id=f"{prefix}-posts",
            title=_("Posts %(per)s by outcome") % {"per": per},
            series=[
                Series(_("Published"), [p["posts_success"] for p in points], "posts_success"),
                Series(_("Failed"), [p["posts_failed"] for p in points], "posts_failed"),
                Series(_("Skipped"), [p["posts_skipped"] for p in points], "posts_skipped"),
            ],
            y_label=_("posts"),
            empty_text=empty,
            **axes,
        ),
        stacked_bar_chart(
            chart_id=f"{prefix}-networks",
            title=_("Published posts %(per)s by network") % {"per": per},
            series=[
                Series(
                    network.label,
                    [p.get("networks", {}).get(network.value, {}).get("posts_success", 0) for p in points],
                    f"network_{network.value}",
                )
                for network in Network
            ],
            y_label=_("posts"),
            empty_text=empty,
            **axes,
        ),
        line_chart(
            chart_id=f"{prefix}-duration",
            title=_("Average publishing time"),
            series=[Series(_("Seconds"), [p["avg_duration"] for p in points], "avg_duration")],
            y_label=_("seconds"),
            empty_text=empty,
            **axes,
        ),
        stacked_bar_chart(
            chart_id=f"{prefix}-failures",
            title=_("Failures %(per)s by kind") % {"per": per},
            series=[
                Series(kind.label, [p[FAILURE_FIELDS[kind]] for p in points], FAILURE_FIELDS[kind])
                for kind in CHARTED_KINDS
            ],
            y_label=_("failures"),
            empty_text=empty,
            **axes,
        ),
    ]


def message_charts(points: list[dict], rng: SeriesRange) -> list[Chart]:
    axes = _axes(points, rng)
    per = axes.pop("per")
    empty = _("No data in this range")
    warnings = [sum(p[f"warnings_{level}"] for level in range(1, 6)) for p in points]
    activity = stacked_bar_chart(
        chart_id="msg-activity",
        title=_("Message activity %(per)s") % {"per": per},
        series=[
            Series(_("Warnings"), warnings, "warnings"),
            Series(_("Resets"), [p["resets"] for p in points], "resets"),
            Series(_("Continues"), [p["continues"] for p in points], "continues"),
            Series(_("Revocations"), [p["revocations"] for p in points], "revocations"),
            Series(_("Deliveries"), [p["deliveries"] for p in points], "deliveries"),
            Series(_("Failed deliveries"), [p["delivery_failures"] for p in points], "delivery_failures"),
        ],
        y_label=_("events"),
        empty_text=empty,
        **axes,
    )
    levels = stacked_bar_chart(
        chart_id="msg-warnings",
        title=_("Warnings %(per)s by level") % {"per": per},
        series=[
            Series(_("Level %(n)d") % {"n": level}, [p[f"warnings_{level}"] for p in points], f"warnings_{level}")
            for level in range(1, 6)
        ],
        y_label=_("warnings"),
        empty_text=empty,
        **axes,
    )
    return [activity, levels]
