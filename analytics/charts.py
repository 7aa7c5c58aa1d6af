"""Small server-side SVG charts: stacked bars and lines, with axes, legend and titles.

No JavaScript and no CDN: the page works offline and in any browser. Every text is
escaped; each chart carries ``<title>``/``<desc>`` for screen readers and a ``<title>`` per
bar or point as a hover tooltip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from django.utils.translation import gettext as _

PALETTE = ["#2e7d32", "#c62828", "#9e9e9e", "#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037"]


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    color: str | None = None


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int = 56
    right: int = 16
    top: int = 44
    bottom: int = 48

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``maximum`` (1, 2, 5 × 10^n steps)."""
    if maximum <= 0 or not math.isfinite(maximum):
        return [0, 1]
    raw = maximum / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    top = math.ceil(maximum / step) * step
    ticks, value = [], 0.0
    while value <= top + step / 2:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _open(chart_id: str, frame: _Frame, title: str, description: str) -> list[str]:
    cid = escape(chart_id, quote=True)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
        f'role="img" aria-labelledby="{cid}-title {cid}-desc" class="chart-svg" font-family="sans-serif" font-size="11">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
        f'<text x="{frame.left}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]


def _axes(frame: _Frame, ticks: list[float], labels: list[str], y_label: str, x_of) -> list[str]:
    out = []
    top_value = ticks[-1] or 1
    for tick in ticks:
        y = frame.top + frame.plot_h * (1 - tick / top_value)
        out.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
        )
        out.append(f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{_fmt(tick)}</text>')
    base = frame.top + frame.plot_h
    out.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}" stroke="#333"/>')
    out.append(f'<line x1="{frame.left}" x2="{frame.left}" y1="{frame.top}" y2="{base}" stroke="#333"/>')
    every = max(1, math.ceil(len(labels) / 10))
    for index in range(0, len(labels), every):
        x = x_of(index)
        out.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" fill="#555">{escape(labels[index])}</text>')
    if y_label:
        mid = frame.top + frame.plot_h / 2
        out.append(
            f'<text transform="translate(14 {mid:.1f}) rotate(-90)" text-anchor="middle" fill="#555">{escape(y_label)}</text>'
        )
    return out


def _legend(frame: _Frame, series: list[Series], colors: list[str]) -> list[str]:
    out, x = ['<g class="legend">'], frame.left
    y = frame.height - 12
    for item, color in zip(series, colors, strict=True):
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{escape(color, quote=True)}"/>')
        out.append(f'<text x="{x + 14}" y="{y}">{escape(item.name)}</text>')
        x += 24 + 7 * len(item.name)
    out.append("</g>")
    return out


def _colors(series: list[Series]) -> list[str]:
    return [item.color or PALETTE[index % len(PALETTE)] for index, item in enumerate(series)]


def _empty_note(frame: _Frame, text: str) -> str:
    return (
        f'<text x="{frame.left + frame.plot_w / 2:.1f}" y="{frame.top + frame.plot_h / 2:.1f}" '
        f'text-anchor="middle" fill="#888">{escape(text)}</text>'
    )


def stacked_bar_chart(
    *,
    chart_id: str,
    title: str,
    labels: list[str],
    series: list[Series],
    y_label: str = "",
    empty_text: str = "",
    width: int = 760,
    height: int = 280,
) -> str:
    """One bar per label, the series stacked bottom-up in the order given."""
    frame = _Frame(width, height)
    totals = [sum((item.values[i] or 0) for item in series) for i in range(len(labels))]
    ticks = nice_ticks(max(totals, default=0))
    slot = frame.plot_w / max(1, len(labels))
    bar = max(1.0, slot * 0.8)
    colors = _colors(series)
    summary = ", ".join(f"{item.name}: {_fmt(sum(v or 0 for v in item.values))}" for item in series)
    out = _open(chart_id, frame, title, _("%(title)s. Totals: %(summary)s.") % {"title": title, "summary": summary})
    out += _axes(frame, ticks, labels, y_label, lambda i: frame.left + slot * (i + 0.5))
    scale = frame.plot_h / (ticks[-1] or 1)
    for index, label in enumerate(labels):
        y = frame.top + frame.plot_h
        x = frame.left + slot * index + (slot - bar) / 2
        for item, color in zip(series, colors, strict=True):
            value = item.values[index] or 0
            if value <= 0:
                continue
            h = value * scale
            y -= h
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{escape(color, quote=True)}">'
                f"<title>{escape(label)} · {escape(item.name)}: {_fmt(value)}</title></rect>"
            )
    if not any(totals):
        out.append(_empty_note(frame, empty_text or _("No data in this range")))
    out += _legend(frame, series, colors)
    out.append("</svg>")
    return "\n".join(out)


def line_chart(
    *,
    chart_id: str,
    title: str,
    labels: list[str],
    series: list[Series],
    y_label: str = "",
    empty_text: str = "",
    width: int = 760,
    height: int = 280,
) -> str:
    """One line per series; ``None`` values leave a gap."""
    frame = _Frame(width, height)
    values = [v for item in series for v in item.values if v is not None]
    ticks = nice_ticks(max(values, default=0))
    step = frame.plot_w / max(1, len(labels) - 1) if len(labels) > 1 else 0

    def x_of(i: int) -> float:
        return frame.left + (step * i if len(labels) > 1 else frame.plot_w / 2)

    colors = _colors(series)
    summary = ", ".join(
        _("%(name)s: at most %(value)s")
        % {"name": item.name, "value": _fmt(max((v for v in item.values if v is not None), default=0))}
        for item in series
    )
    out = _open(chart_id, frame, title, _("%(title)s. %(summary)s.") % {"title": title, "summary": summary})
    out += _axes(frame, ticks, labels, y_label, x_of)
    scale = frame.plot_h / (ticks[-1] or 1)
    base = frame.top + frame.plot_h
    for item, color in zip(series, colors, strict=True):
        segments, current = [], []
        for index, value in enumerate(item.values):
            if value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append((x_of(index), base - value * scale, labels[index], value))
        if current:
            segments.append(current)
        paint = escape(color, quote=True)
        for segment in segments:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y, _label, _v in segment)
            out.append(f'<polyline points="{points}" fill="none" stroke="{paint}" stroke-width="2"/>')
            if len(item.values) <= 200:
                for x, y, label, value in segment:
                    out.append(
                        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{paint}">'
                        f"<title>{escape(label)} · {escape(item.name)}: {_fmt(value)}</title></circle>"
                    )
    if not values:
        out.append(_empty_note(frame, empty_text or _("No data in this range")))
    out += _legend(frame, series, colors)
    out.append("</svg>")
    return "\n".join(out)
