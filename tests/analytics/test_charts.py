"""The SVG chart builders: valid, accessible, escaped, whole-number ticks, both drawings."""

from xml.etree import ElementTree

import pytest

from analytics.charts import NARROW, WIDE, Series, line_chart, nice_ticks, stacked_bar_chart, text_width
from analytics.palette import colour

SVG = "{http://www.w3.org/2000/svg}"


def _drawings(chart):
    return [ElementTree.fromstring(str(drawing)) for drawing in chart.drawings]


def test_stacked_bars_are_valid_accessible_svg():
    chart = stacked_bar_chart(
        chart_id="c1",
        title="Posts <per> day",
        labels=["03-01", "03-02"],
        series=[Series("Published & ok", [3, 0], "posts_success"), Series("Failed", [1, 2], "posts_failed")],
        y_label="posts",
    )
    wide, narrow = _drawings(chart)
    assert wide.get("role") == "img" and narrow.get("role") == "img"
    assert wide.get("aria-labelledby") == "c1-chart-wide-title" and wide.get("aria-describedby") == "c1-chart-wide-desc"
    assert narrow.get("aria-labelledby") == "c1-chart-narrow-title", "ids differ between the two drawings"
    assert wide.find(f"{SVG}title").text == "Posts <per> day"
    assert "Published & ok: 3" in wide.find(f"{SVG}desc").text
    bars = wide.findall(f"{SVG}rect[{SVG}title]")
    assert [bar.find(f"{SVG}title").text for bar in bars] == [
        "03-01 · Published & ok: 3",
        "03-01 · Failed: 1",
        "03-02 · Failed: 2",
    ]
    assert {bar.get("fill") for bar in bars} == {colour("posts_success"), colour("posts_failed")}
    texts = [t.text for t in wide.iter(f"{SVG}text")]
    assert "posts" in texts and "03-02" in texts
    assert [(wide.get("viewBox")), narrow.get("viewBox")] == [
        f"0 0 {WIDE.width} {WIDE.height}",
        f"0 0 {NARROW.width} {NARROW.height}",
    ]


def test_the_legend_and_the_table_carry_every_series():
    chart = stacked_bar_chart(
        chart_id="c",
        title="T",
        labels=["a", "b"],
        series=[Series("Published", [3, None], "posts_success"), Series("Failed", [1, 2], "posts_failed")],
        label_heading="Day",
    )
    assert [item.name for item in chart.legend] == ["Published", "Failed"]
    assert colour("posts_success") in chart.legend[0].swatch and 'aria-hidden="true"' in chart.legend[0].swatch
    assert chart.columns == ["Published", "Failed", "Total"]
    assert chart.rows == [{"label": "a", "cells": ["3", "1", "4"]}, {"label": "b", "cells": ["–", "2", "2"]}]


def test_the_narrow_drawing_uses_the_short_axis_labels_and_the_tooltips_the_full_ones():
    chart = stacked_bar_chart(
        chart_id="c",
        title="T",
        labels=["2026-03-01", "2026-03-02"],
        axis_labels=["03-01", "03-02"],
        series=[Series("S", [1, 1], "posts_success")],
    )
    wide, narrow = _drawings(chart)
    assert "2026-03-01" in [t.text for t in wide.iter(f"{SVG}text")]
    assert "03-01" in [t.text for t in narrow.iter(f"{SVG}text")]
    assert "2026-03-01 · S: 1" in [t.text for t in wide.iter(f"{SVG}title")]
    assert [t.text for t in narrow.iter(f"{SVG}title")] == ["T"], "no hover tooltips on the phone drawing"


def _x_labels(root) -> list[tuple[float, str]]:
    return [(float(t.get("x")), t.text) for t in root.iter(f"{SVG}text") if t.get("class") == "x-label"]


@pytest.mark.parametrize(
    "labels", [[f"2026-03-{d:02d}" for d in range(1, 32)], [f"03-01 {h:02d}:00" for h in range(72)]]
)
def test_x_labels_keep_apart_and_inside_the_drawing(labels):
    for chart in (
        stacked_bar_chart(
            chart_id="b", title="T", labels=labels, series=[Series("S", [1] * len(labels), "posts_success")]
        ),
        line_chart(chart_id="l", title="T", labels=labels, series=[Series("S", [1.5] * len(labels), "avg_duration")]),
    ):
        for root, layout in zip(_drawings(chart), (WIDE, NARROW), strict=True):
            placed = _x_labels(root)
            assert len(placed) >= 2
            for (x1, text1), (x2, text2) in zip(placed, placed[1:], strict=False):
                assert x2 - x1 >= (text_width(text1) + text_width(text2)) / 2, (layout, text1, text2)
            for x, text in placed:
                assert x - text_width(text) / 2 >= 0 and x + text_width(text) / 2 <= layout.width, (layout, text)


def test_text_width_counts_cjk_glyphs_as_one_em():
    assert text_width("触发限流", 12) == 48
    assert text_width("Other", 10) == pytest.approx(31)


def test_empty_chart_says_so():
    chart = stacked_bar_chart(
        chart_id="e", title="T", labels=["a"], series=[Series("x", [0], "posts_success")], empty_text="Nothing"
    )
    assert all("Nothing" in [t.text for t in root.iter(f"{SVG}text")] for root in _drawings(chart))


def test_line_chart_leaves_gaps_for_missing_values():
    chart = line_chart(
        chart_id="l",
        title="Duration",
        labels=["a", "b", "c", "d"],
        series=[Series("s", [1.5, None, 2, 3], "avg_duration")],
    )
    wide = _drawings(chart)[0]
    assert len(wide.findall(f"{SVG}polyline")) == 2
    assert len(wide.findall(f"{SVG}circle")) == 3


def test_a_second_line_is_dashed_with_another_marker():
    chart = line_chart(
        chart_id="l",
        title="T",
        labels=["a", "b"],
        series=[Series("one", [1, 2], "avg_duration"), Series("two", [2, 1], "posts_success")],
    )
    wide = _drawings(chart)[0]
    first, second = wide.findall(f"{SVG}polyline")
    assert first.get("stroke-dasharray") is None and second.get("stroke-dasharray")
    assert len(wide.findall(f"{SVG}circle")) == 2 and len(wide.findall(f"{SVG}rect")) == 2  # squares


def test_nice_ticks_have_round_steps():
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(8.04) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(0.5) == [0, 0.1, 0.2, 0.3, 0.4, 0.5]


@pytest.mark.parametrize("maximum", [1, 2, 3, 5, 6, 9, 10, 11, 13, 25, 99, 101, 999, 1234, 87_654])
def test_count_ticks_are_whole_numbers_from_zero_past_the_maximum(maximum):
    ticks = nice_ticks(maximum, whole=True)
    assert all(isinstance(t, int) for t in ticks), ticks
    assert ticks[0] == 0 and ticks[-1] >= maximum and ticks[-2] < maximum
    steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1
    step = steps.pop()
    assert step >= 1 and int(str(step).rstrip("0") or "0") in (1, 2, 5), ticks
    assert 2 <= len(ticks) <= 6


def test_count_charts_never_tick_at_fractions():
    # Without whole ticks a maximum of 2 had steps of 0.5 ("2.5 messages").
    chart = stacked_bar_chart(chart_id="c", title="T", labels=["a", "b"], series=[Series("S", [2, 1], "warnings_1")])
    for root in _drawings(chart):
        ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
        assert ticks == ["0", "1", "2"]


def test_the_screen_reader_summary_is_in_the_active_language():
    from django.utils import translation

    with translation.override("zh-hans"):
        bars = stacked_bar_chart(chart_id="c", title="T", labels=["a"], series=[Series("S", [2], "posts_success")])
        lines = line_chart(chart_id="l", title="T", labels=["a", "b"], series=[Series("S", [1, 4], "avg_duration")])
        empty = stacked_bar_chart(chart_id="e", title="T", labels=["a"], series=[Series("S", [0], "posts_success")])
    assert bars.description == "T。合计：S: 2。"
    assert _drawings(lines)[0].find(f"{SVG}desc").text == "T。S：最高 4。"
    assert "此时间范围内没有数据" in empty.drawings[0]


def test_the_table_rows_are_escaped_html_in_the_rows_order():
    from analytics.charts import Series, stacked_bar_chart

    chart = stacked_bar_chart(
        chart_id="t", title="T", labels=["<a>", "b"], series=[Series("<X>", [1, None], "posts_success")]
    )
    assert (
        chart.table_body
        == '<tr><th scope="row">&lt;a&gt;</th><td>1</td></tr>\n<tr><th scope="row">b</th><td>–</td></tr>'
    )
