"""Small server-side SVG charts: stacked bars and lines, with axes, an HTML legend and a table.

No JavaScript and no CDN: the page works offline and in any browser, under a CSP with no
inline scripts or styles (colours are SVG presentation attributes, not ``style``). Every
text is escaped.

Why the chart is drawn twice. An SVG scales with its ``viewBox``: one drawing 760 units
wide shown on a 390 px phone had 11-unit text about 5 px tall. Each chart is drawn once
for wide screens (``WIDE``) and once for narrow ones (``NARROW``, 360 units, fewer x
labels); the stylesheet shows the one that fits (``analytics/charts.css``), so 12-unit
text is drawn at 0.76 to 1.56 times its size. Measured in Chromium (the smallest chart
text on screen): 9.1 px at 320 px, 11.4 px at 390, 18.7 px at 759, 9.6 px at 760 (the
switch to the wide drawing), 14.4 px at 1280; tests/browser/test_chart_layout.py holds
it at 9 px or more at 390 and 1280.

Hover tooltips (a ``<title>`` per bar or point) are in the wide drawing only: phones have
no hover, the table holds the same numbers, and a month of hours is 2,232 bars.

Why the legend and title are HTML. Laid out inside the SVG they had to be measured by
guess and overflowed (Chinese labels overlapped, "Other" fell off the end); as a list
beside the drawing they wrap like any text. Axis labels are still SVG text, placed with
``text_width`` (CJK glyphs one em wide, Latin about 0.6 em) so they never overlap or leave
the drawing. The numbers behind each chart are also a table (see the template), for screen
readers and for anyone who wants the exact values.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from analytics.palette import colour

FONT = 12
TICK_COLOUR = "#4b5563"  # 7.6:1 on white
GRID_COLOUR = "#e5e7eb"
AXIS_COLOUR = "#374151"
# Line series after the first are dashed and take another marker, so lines that cross or
# share a colour vision deficiency stay apart.
DASHES = ["", "6 3", "2 3", "8 3 2 3"]
MARKERS = ["circle", "square", "diamond", "triangle"]


@dataclass(frozen=True)
class Layout:
    """One drawing size (viewBox units) and the CSS class that shows it."""

    width: int
    height: int
    css_class: str


WIDE = Layout(860, 300, "chart-wide")
NARROW = Layout(360, 280, "chart-narrow")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    meaning: str  # the palette key: what the series counts (analytics.palette.COLOURS)

    @property
    def colour(self) -> str:
        return colour(self.meaning)


@dataclass(frozen=True)
class LegendItem:
    name: str
    swatch: SafeString


@dataclass
class Chart:
    """Everything the template draws for one chart: both drawings, the legend, the table."""

    chart_id: str
    title: str
    description: str
    label_heading: str
    labels: list[str]
    series: list[Series]
    drawings: list[SafeString] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    # The rows as HTML, escaped here: a year of days is 366 rows x 5 charts, and the template
    # engine spent more time on those cells than on everything else the page does.
    table_body: SafeString = SafeString("")


@functools.lru_cache(maxsize=8192)  # a year's 366 day labels are measured several times per chart
def text_width(text: str, size: float = FONT) -> float:
    """Estimated drawn width: wide (CJK, full-width) glyphs 1 em, others 0.62 em.

    Generous on purpose (sans-serif digits are ~0.55 em): an overestimate spaces labels a
    little more, an underestimate lets them overlap.
    """
    ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.62 for ch in text)
    return ems * size


def nice_ticks(maximum: float, count: int = 6, *, whole: bool = False) -> list[float]:
    """Round tick values from 0 to at least ``maximum``: steps of 1, 2 or 5 × 10^n.

    ``whole`` (counts: posts, failures, warnings) keeps every tick a whole number and the
    step at least 1, so an axis never reads 2.5 messages.
    """
    if not math.isfinite(maximum) or maximum <= 0:
        return [0, 1]
    raw = maximum / max(1, count - 1)
    if whole:
        raw = max(raw, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    steps = math.ceil(maximum / step * (1 - 1e-9))
    if whole:
        step = round(step)
        return [i * step for i in range(steps + 1)]
    return [round(i * step, 10) for i in range(steps + 1)]


@functools.lru_cache(maxsize=4096)  # counts repeat: a year of days is mostly the same few numbers
def fmt(value: float | None) -> str:
    """A chart's number as shown: digits, "," and "." only (or "–" for none), so it needs no escaping."""
    if value is None:
        return "–"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Frame:
    layout: Layout
    left: float
    right: float
    top: float = 14
    bottom: float = 32

    @property
    def width(self) -> int:
        return self.layout.width

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.layout.height - self.top - self.bottom

    @property
    def base(self) -> float:
        return self.top + self.plot_h


def _frame(layout: Layout, ticks: list[float], labels: list[str], y_label: str) -> _Frame:
    # Room for the widest tick label and the rotated axis name, and for half the first and
    # the last x label: a line chart centres them on its first and last points.
    tick_room = max(text_width(fmt(t)) for t in ticks) + 8
    widest_label = max((text_width(label) for label in labels), default=0)
    left = max(tick_room + (20 if y_label else 4), widest_label / 2 + 4)
    return _Frame(layout, left=math.ceil(left), right=math.ceil(widest_label / 2 + 4))


def _svg_open(chart_id: str, layout: Layout, title: str, description: str) -> list[str]:
    cid = escape(f"{chart_id}-{layout.css_class}", quote=True)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {layout.width} {layout.height}" '
        f'role="img" aria-labelledby="{cid}-title" aria-describedby="{cid}-desc" '
        f'class="chart-svg {layout.css_class}" font-family="sans-serif" font-size="{FONT}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
    ]


def _axes(frame: _Frame, ticks: list[float], labels: list[str], y_label: str, x_of, slot: float) -> list[str]:
    out = []
    top_value = ticks[-1] or 1
    x_end = frame.width - frame.right
    for tick in ticks:
        y = frame.top + frame.plot_h * (1 - tick / top_value)
        out.append(f'<line x1="{frame.left}" x2="{x_end}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>')
        out.append(
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TICK_COLOUR}">{fmt(tick)}</text>'
        )
    out.append(f'<line x1="{frame.left}" x2="{x_end}" y1="{frame.base}" y2="{frame.base}" stroke="{AXIS_COLOUR}"/>')
    out.append(f'<line x1="{frame.left}" x2="{frame.left}" y1="{frame.top}" y2="{frame.base}" stroke="{AXIS_COLOUR}"/>')
    # Label every n-th point, n chosen so that neighbouring labels keep a gap of 12 units.
    widest = max((text_width(label) for label in labels), default=0)
    every = max(1, math.ceil((widest + 12) / max(slot, 0.01)))
    # 24 units below the axis: with Noto Sans CJK's tall line box (the Chinese pages' font) the
    # first label's box touched the "0" tick's at 20.
    for index in range(0, len(labels), every):
        out.append(
            f'<text x="{x_of(index):.1f}" y="{frame.base + 24}" text-anchor="middle" '
            f'fill="{TICK_COLOUR}" class="x-label">{escape(labels[index])}</text>'
        )
    if y_label:
        mid = frame.top + frame.plot_h / 2
        out.append(
            f'<text transform="translate(14 {mid:.1f}) rotate(-90)" text-anchor="middle" '
            f'fill="{TICK_COLOUR}">{escape(y_label)}</text>'
        )
    return out


def _empty_note(frame: _Frame, text: str) -> str:
    return (
        f'<text x="{frame.left + frame.plot_w / 2:.1f}" y="{frame.top + frame.plot_h / 2:.1f}" '
        f'text-anchor="middle" fill="{TICK_COLOUR}">{escape(text)}</text>'
    )


def _bars_svg(chart: Chart, layout: Layout, labels: list[str], y_label: str, empty_text: str) -> str:
    columns = zip(*(s.values for s in chart.series), strict=True) if chart.series else ()
    totals = [sum(v or 0 for v in column) for column in columns] or [0] * len(labels)
    ticks = nice_ticks(max(totals, default=0), whole=True)
    frame = _frame(layout, ticks, labels, y_label)
    slot = frame.plot_w / max(1, len(labels))
    bar = max(1.0, slot * 0.8)
    # A white hairline between stacked segments where bars are wide enough to keep it.
    edge = ' stroke="#fff" stroke-width="1"' if bar >= 8 else ""
    tooltips = layout is WIDE
    out = _svg_open(chart.chart_id, layout, chart.title, chart.description)
    out += _axes(frame, ticks, labels, y_label, lambda i: frame.left + slot * (i + 0.5), slot)
    scale = frame.plot_h / (ticks[-1] or 1)
    # Without tooltips a series' bars are one <path> (a month of hours is 2,232 bars).
    paths: dict[str, list[str]] = {item.meaning: [] for item in chart.series}
    names = [escape(item.name) for item in chart.series]  # once per series, not once per bar
    for index, label in enumerate(chart.labels):
        label = escape(label)
        y = frame.base
        x = frame.left + slot * index + (slot - bar) / 2
        for item, name in zip(chart.series, names, strict=True):
            value = item.values[index] or 0
            if value <= 0:
                continue
            height = value * scale
            y -= height
            if not tooltips:
                paths[item.meaning].append(f"M{x:.1f} {y:.1f}h{bar:.1f}v{height:.1f}h{-bar:.1f}z")
                continue
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{item.colour}"{edge}>'
                f"<title>{label} · {name}: {fmt(value)}</title></rect>"
            )
    for item in chart.series:
        if paths[item.meaning]:
            out.append(f'<path d="{"".join(paths[item.meaning])}" fill="{item.colour}"{edge}/>')
    if not any(totals):
        out.append(_empty_note(frame, empty_text))
    out.append("</svg>")
    return "\n".join(out)


def _marker(shape: str, x: float, y: float, paint: str, tooltip: str) -> str:
    inner = f"<title>{escape(tooltip)}</title>" if tooltip else ""
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{paint}">{inner}</circle>'
    if shape == "square":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{paint}">{inner}</rect>'
    if shape == "diamond":
        points = f"{x:.1f},{y - 4:.1f} {x + 4:.1f},{y:.1f} {x:.1f},{y + 4:.1f} {x - 4:.1f},{y:.1f}"
    else:
        points = f"{x:.1f},{y - 4:.1f} {x + 4:.1f},{y + 3:.1f} {x - 4:.1f},{y + 3:.1f}"
    return f'<polygon points="{points}" fill="{paint}">{inner}</polygon>'


def _lines_svg(chart: Chart, layout: Layout, labels: list[str], y_label: str, empty_text: str) -> str:
    values = [v for item in chart.series for v in item.values if v is not None]
    ticks = nice_ticks(max(values, default=0))
    frame = _frame(layout, ticks, labels, y_label)
    step = frame.plot_w / (len(labels) - 1) if len(labels) > 1 else 0
    tooltips = layout is WIDE

    def x_of(i: int) -> float:
        return frame.left + (step * i if len(labels) > 1 else frame.plot_w / 2)

    out = _svg_open(chart.chart_id, layout, chart.title, chart.description)
    out += _axes(frame, ticks, labels, y_label, x_of, step or frame.plot_w)
    scale = frame.plot_h / (ticks[-1] or 1)
    for number, item in enumerate(chart.series):
        segments, current = [], []
        for index, value in enumerate(item.values):
            if value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append((x_of(index), frame.base - value * scale, chart.labels[index], value))
        if current:
            segments.append(current)
        dash = DASHES[number % len(DASHES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        for segment in segments:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y, _label, _v in segment)
            out.append(f'<polyline points="{points}" fill="none" stroke="{item.colour}" stroke-width="2"{dashed}/>')
            if len(item.values) <= 200:
                shape = MARKERS[number % len(MARKERS)]
                for x, y, label, value in segment:
                    tip = f"{label} · {item.name}: {fmt(value)}" if tooltips else ""
                    out.append(_marker(shape, x, y, item.colour, tip))
    if not values:
        out.append(_empty_note(frame, empty_text))
    out.append("</svg>")
    return "\n".join(out)


def _swatch(item: Series, number: int, line: bool) -> SafeString:
    head = '<svg class="swatch" aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg"'
    if not line:
        square = f'<rect width="14" height="14" fill="{item.colour}"/>'
        return mark_safe(f'{head} width="14" height="14" viewBox="0 0 14 14">{square}</svg>')  # noqa: S308
    dash = DASHES[number % len(DASHES)]
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    mark = _marker(MARKERS[number % len(MARKERS)], 12, 7, item.colour, item.name)
    return mark_safe(  # noqa: S308 (colour from the palette; the name is escaped)
        f'{head} width="24" height="14" viewBox="0 0 24 14"><line x1="0" y1="7" x2="24" y2="7" '
        f'stroke="{item.colour}" stroke-width="2"{dashed}/>{mark}</svg>'
    )


def _finish(chart: Chart, *, kind: str, axis_labels: list[str] | None, y_label: str, empty_text: str) -> Chart:
    draw = _bars_svg if kind == "bars" else _lines_svg
    empty = empty_text or _("No data in this range")
    short = axis_labels or chart.labels
    # The SVG builders escape every text they are given.
    chart.drawings = [
        mark_safe(draw(chart, WIDE, chart.labels, y_label, empty)),  # noqa: S308
        mark_safe(draw(chart, NARROW, short, y_label, empty)),  # noqa: S308
    ]
    chart.legend = [LegendItem(s.name, _swatch(s, n, kind == "lines")) for n, s in enumerate(chart.series)]
    chart.columns = [s.name for s in chart.series]
    totals = kind == "bars" and len(chart.series) > 1
    if totals:
        chart.columns.append(_("Total"))
    for index, label in enumerate(chart.labels):
        values = [s.values[index] for s in chart.series]
        cells = [fmt(v) for v in values]
        if totals:
            cells.append(fmt(sum(v or 0 for v in values)))
        chart.rows.append({"label": label, "cells": cells})
    chart.table_body = mark_safe(  # noqa: S308 (every label is escaped; a cell is fmt's digits)
        "\n".join(
            f'<tr><th scope="row">{escape(row["label"])}</th>'
            + "".join(f"<td>{cell}</td>" for cell in row["cells"])  # fmt's digits: nothing to escape
            + "</tr>"
            for row in chart.rows
        )
    )
    return chart


def stacked_bar_chart(
    *,
    chart_id: str,
    title: str,
    labels: list[str],
    series: list[Series],
    y_label: str = "",
    empty_text: str = "",
    label_heading: str = "",
    axis_labels: list[str] | None = None,
) -> Chart:
    """One bar per label, the series stacked bottom-up in the order given; counts, so whole ticks.

    ``axis_labels`` are shorter labels for the narrow drawing's axis (the table and the
    tooltips keep ``labels``).
    """
    summary = ", ".join(f"{item.name}: {fmt(sum(v or 0 for v in item.values))}" for item in series)
    description = _("%(title)s. Totals: %(summary)s.") % {"title": title, "summary": summary}
    chart = Chart(chart_id, title, description, label_heading, labels, series)
    return _finish(chart, kind="bars", axis_labels=axis_labels, y_label=y_label, empty_text=empty_text)


def line_chart(
    *,
    chart_id: str,
    title: str,
    labels: list[str],
    series: list[Series],
    y_label: str = "",
    empty_text: str = "",
    label_heading: str = "",
    axis_labels: list[str] | None = None,
) -> Chart:
    """One line per series; ``None`` values leave a gap."""
    summary = ", ".join(
        _("%(name)s: at most %(value)s")
        % {"name": item.name, "value": fmt(max((v for v in item.values if v is not None), default=0))}
        for item in series
    )
    description = _("%(title)s. %(summary)s.") % {"title": title, "summary": summary}
    chart = Chart(chart_id, title, description, label_heading, labels, series)
    return _finish(chart, kind="lines", axis_labels=axis_labels, y_label=y_label, empty_text=empty_text)
