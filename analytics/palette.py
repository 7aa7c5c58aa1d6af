"""One colour per meaning, for every chart and legend of the statistics pages.

A series is drawn in the colour of what it counts, never of its position: "Rate limited"
in the failures chart and "Level 1" in the warnings chart used to take the first colour of
a shared list and both came out in the green of "Published". Every meaning has its own
colour, no two meanings share one, and each has at least 3:1 contrast against the chart
background (WCAG 2.2, 1.4.11 non-text contrast): the old light grey of "Skipped"
(#9e9e9e, 2.68:1) failed that. Colours that meet side by side in one chart are far apart
in hue or lightness; the legend's words, the tooltips and the table under each chart say
the same thing without colour (WCAG 1.4.1).

The warning levels are one ramp from amber to deep purple, so "later" reads as "darker".
"""

from __future__ import annotations

from analytics.aggregate import FAILURE_FIELDS

BACKGROUND = "#ffffff"

# Keyed by meaning: the hourly tables' column a series charts (analytics.aggregate), so a
# meaning is spelled once and a status word ("failed") is not repeated as a literal.
COLOURS: dict[str, str] = {
    # Posts by outcome
    "posts_success": "#2e7d32",
    "posts_failed": "#c62828",
    "posts_skipped": "#6b7280",
    # Average publishing time
    "avg_duration": "#0369a1",
    # Failures by kind
    "failures_rate_limit": "#c2410c",
    "failures_auth": "#7e22ce",
    "failures_duplicate": "#0f766e",
    "failures_media": "#be185d",
    "failures_server": "#92400e",
    "failures_network": "#1d4ed8",
    "failures_other": "#525252",
    # Message activity ("warnings": the five levels' sum)
    "warnings": "#b45309",
    "resets": "#047857",
    "continues": "#0e7490",
    "revocations": "#6d28d9",
    "deliveries": "#1e40af",
    "delivery_failures": "#b91c1c",
    # Published posts per network (issue 19): "network_<Network value>"
    "network_x": "#18181b",
    "network_mastodon": "#563acc",
    "network_bluesky": "#0070d6",
    # Warnings by level
    "warnings_1": "#d97706",
    "warnings_2": "#ea580c",
    "warnings_3": "#dc2626",
    "warnings_4": "#9f1239",
    "warnings_5": "#581c87",
}

# Every failure column has a colour (a kind added to the model fails the palette's test).
FAILURE_MEANINGS = list(dict.fromkeys(FAILURE_FIELDS.values()))


def colour(meaning: str) -> str:
    """The colour of ``meaning``; an unknown meaning is a programming error (KeyError)."""
    return COLOURS[meaning]


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``."""
    digits = hex_colour.lstrip("#")
    red, green, blue = (_linear(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio between two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
