"""One colour per meaning across every chart, each visible against the background."""

from analytics import chart_sets
from analytics.charts import Chart
from analytics.palette import BACKGROUND, COLOURS, FAILURE_MEANINGS, contrast_ratio
from analytics.selectors import series_range


def test_no_two_meanings_share_a_colour():
    colours = [value.lower() for value in COLOURS.values()]
    assert len(set(colours)) == len(colours)


def test_every_colour_has_3_to_1_contrast_with_the_background():
    low = {meaning: round(contrast_ratio(value, BACKGROUND), 2) for meaning, value in COLOURS.items()}
    assert {meaning: ratio for meaning, ratio in low.items() if ratio < 3} == {}


def test_contrast_ratio_matches_wcag():
    assert round(contrast_ratio("#000000", "#ffffff"), 2) == 21
    assert round(contrast_ratio("#9e9e9e", "#ffffff"), 2) == 2.68  # the old "Skipped" grey: too light
    assert contrast_ratio("#777777", "#777777") == 1


def test_every_failure_column_has_a_colour():
    assert [meaning for meaning in FAILURE_MEANINGS if meaning not in COLOURS] == []


def _charts() -> list[Chart]:
    rng = series_range(first_day=None, last_day=None, interval="day")
    points = [{"start": start, **dict.fromkeys(_all_fields(), 1)} for start in rng.buckets()]
    return chart_sets.publishing_charts(points, rng) + chart_sets.message_charts(points, rng)


def _all_fields() -> list[str]:
    from analytics.aggregate import MESSAGE_FIELDS, PUBLISHING_FIELDS

    return [*PUBLISHING_FIELDS, *MESSAGE_FIELDS]


def test_across_all_charts_a_colour_always_means_the_same_series():
    # "Rate limited" and "Level 1" took the first colour of a shared list: the green of "Published".
    meaning_of: dict[str, str] = {}
    for chart in _charts():
        for series in chart.series:
            assert meaning_of.setdefault(series.colour, series.name) == series.name, (series.colour, series.name)
    assert len(meaning_of) == sum(len(chart.series) for chart in _charts())


def test_within_a_chart_the_colours_differ():
    for chart in _charts():
        assert len({series.colour for series in chart.series}) == len(chart.series), chart.title


def test_every_meaning_is_a_column_of_the_hourly_tables():
    from publishing.models import Network

    # "warnings": the five levels' sum; "network_x" and the others: the published posts of a network
    columns = set(_all_fields()) | {"warnings"} | {f"network_{network}" for network in Network.values}
    assert sorted(set(COLOURS) - columns) == []
