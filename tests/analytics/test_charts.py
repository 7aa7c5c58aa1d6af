from xml.etree import ElementTree

from analytics.charts import Series, line_chart, nice_ticks, stacked_bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_stacked_bars_are_valid_accessible_svg():
    svg = stacked_bar_chart(
        chart_id="c1",
        title="Posts <per> day",
        labels=["03-01", "03-02"],
        series=[Series("Published & ok", [3, 0]), Series("Failed", [1, 2])],
        y_label="posts",
    )
    root = ElementTree.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Posts <per> day"
    assert "Published & ok: 3" in root.find(f"{SVG}desc").text
    bars = root.findall(f"{SVG}rect[{SVG}title]")
    assert [bar.find(f"{SVG}title").text for bar in bars] == [
        "03-01 · Published & ok: 3",
        "03-01 · Failed: 1",
        "03-02 · Failed: 2",
    ]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Published & ok" in texts and "posts" in texts and "03-02" in texts


def test_empty_chart_says_so():
    svg = stacked_bar_chart(chart_id="e", title="T", labels=["a"], series=[Series("x", [0])], empty_text="Nothing")
    assert "Nothing" in [t.text for t in ElementTree.fromstring(svg).iter(f"{SVG}text")]


def test_line_chart_leaves_gaps_for_missing_values():
    svg = line_chart(
        chart_id="l", title="Duration", labels=["a", "b", "c", "d"], series=[Series("s", [1.5, None, 2, 3])]
    )
    root = ElementTree.fromstring(svg)
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert len(root.findall(f"{SVG}circle")) == 3


def test_nice_ticks():
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(100)[-1] >= 100


def test_the_screen_reader_summary_is_in_the_active_language():
    from django.utils import translation

    with translation.override("zh-hans"):
        bars = stacked_bar_chart(chart_id="c", title="T", labels=["a"], series=[Series("S", [2])])
        lines = line_chart(chart_id="l", title="T", labels=["a", "b"], series=[Series("S", [1, 4])])
        empty = stacked_bar_chart(chart_id="e", title="T", labels=["a"], series=[Series("S", [0])])
    assert ElementTree.fromstring(bars).find(f"{SVG}desc").text == "T。合计：S: 2。"
    assert ElementTree.fromstring(lines).find(f"{SVG}desc").text == "T。S：最高 4。"
    assert "此时间范围内没有数据" in empty
