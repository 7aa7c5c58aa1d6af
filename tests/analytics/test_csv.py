"""The statistics CSV: streamed from the cursor, the same lines as before, the owner's rows only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import pytest
import time_machine
from django.http import StreamingHttpResponse
from django.urls import reverse

from analytics.aggregate import MESSAGE_FIELDS, PUBLISHING_FIELDS
from analytics.models import AnalyticsHourly, MessageHourly
from analytics.selectors import HOURLY_MAX_DAYS
from tests.analytics.factories import NOW, make_project

DAY_START = NOW.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _hours(project, count: int, *, seed: int, network: str = "x") -> list[AnalyticsHourly]:
    rows = [
        AnalyticsHourly(
            project=project,
            network=network,
            hour_timestamp=DAY_START - timedelta(hours=hour),
            posts_success=seed + hour,
            posts_failed=hour % 3,
            posts_skipped=1,
            avg_duration=None if hour % 4 == 0 else 1.5 + hour,
            failures_rate_limit=hour % 2,
        )
        for hour in range(count)
    ]
    return AnalyticsHourly.objects.bulk_create(rows)


@pytest.fixture
def hourly(owner, other_user):
    first, second = make_project(owner, "First, with a comma"), make_project(owner, "Second")
    theirs = make_project(other_user, "Theirs-secret")
    # The first project's hours on three networks: a chunk may end between two networks' rows
    # of one hour and project.
    mine = (
        _hours(first, 30, seed=10)
        + _hours(first, 6, seed=20, network="mastodon")
        + _hours(first, 4, seed=30, network="bluesky")
        + _hours(second, 5, seed=100)
    )
    _hours(theirs, 30, seed=5000)
    return first, second, theirs, mine


def _body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def _expected_publishing(rows) -> str:
    """The output written out: header, then rows by hour, project and network, CSV-quoted, CRLF."""
    head = ",".join(["hour_utc", "project_id", "project", "network", *PUBLISHING_FIELDS])
    lines = [head]
    for row in sorted(rows, key=lambda row: (row.hour_timestamp, row.project_id, row.network)):
        name = f'"{row.project.name}"' if "," in row.project.name else row.project.name
        values = ["" if getattr(row, f) is None else str(getattr(row, f)) for f in PUBLISHING_FIELDS]
        lines.append(",".join([row.hour_timestamp.isoformat(), str(row.project_id), name, row.network, *values]))
    return "".join(f"{line}\r\n" for line in lines)


def test_publishing_csv_streams_the_same_lines_for_my_projects_only(client, owner, hourly):
    first, second, _theirs, mine = hourly
    client.force_login(owner)
    response = client.get(reverse("analytics:publishing_export"), {"from": "2025-03-08", "to": "2025-03-10"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cradle-publishing-hourly.csv"'
    body = _body(response)
    assert body == _expected_publishing(mine)
    assert "Theirs-secret" not in body and "5000" not in body


@pytest.mark.parametrize("chunk", [1, 3, 4, 7])
def test_every_row_once_in_order_whatever_the_chunk_size(client, owner, hourly, monkeypatch, chunk):
    """Chunks are read by keyset on (hour, project): a chunk that ends inside an hour (two
    projects share it) must neither repeat nor skip the hour's other row."""
    from analytics import views

    monkeypatch.setattr(views, "CSV_CHUNK_ROWS", chunk)
    _first, _second, _theirs, mine = hourly
    client.force_login(owner)
    response = client.get(reverse("analytics:publishing_export"), {"from": "2025-03-08", "to": "2025-03-10"})
    assert _body(response) == _expected_publishing(mine)
    messages = client.get(reverse("analytics:messages_export"))
    assert messages.status_code == 200


def test_project_csv_has_that_project_only(client, owner, hourly):
    first, _second, _theirs, mine = hourly
    client.force_login(owner)
    response = client.get(reverse("analytics:project_export", args=[first.pk]), {"from": "2025-03-08"})
    assert response["Content-Disposition"] == f'attachment; filename="cradle-project-{first.pk}-hourly.csv"'
    assert _body(response) == _expected_publishing([row for row in mine if row.project_id == first.pk])


def test_message_csv_streams_my_hours_only(client, owner, other_user):
    for user, base in ((owner, 1), (other_user, 7000)):
        MessageHourly.objects.bulk_create(
            MessageHourly(user=user, hour_timestamp=DAY_START - timedelta(hours=h), warnings_1=base + h, resets=h)
            for h in range(3)
        )
    client.force_login(owner)
    response = client.get(reverse("analytics:messages_export"))
    assert response["Content-Disposition"] == 'attachment; filename="cradle-messages-hourly.csv"'
    expected = [",".join(["hour_utc", *MESSAGE_FIELDS])]
    for h in (2, 1, 0):
        values = {"warnings_1": 1 + h, "resets": h}
        hour = (DAY_START - timedelta(hours=h)).isoformat()
        expected.append(",".join([hour, *(str(values.get(f, 0)) for f in MESSAGE_FIELDS)]))
    assert _body(response) == "".join(f"{line}\r\n" for line in expected)


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"from": "2025-03-10", "to": "2025-03-01"}, "The end date must be on or after the start date."),
        ({"from": "not-a-date"}, "Enter a valid date."),
        ({"from": "2020-01-01", "to": "2025-03-10"}, "at most 366 days"),
        ({"to": "0001-01-01"}, "Choose a date between 2000-01-01 and 2999-12-31."),
        ({"interval": "fortnight"}, "Select a valid choice."),
    ],
)
def test_csv_with_a_bad_range_is_a_400_saying_why(client, owner, hourly, params, reason):
    client.force_login(owner)
    for url in (reverse("analytics:publishing_export"), reverse("analytics:messages_export")):
        response = client.get(url, params)
        assert response.status_code == 400
        assert reason in response.content.decode()


def test_csv_per_day_is_the_day_rows_equal_to_their_hours(client, owner, hourly):
    from analytics.rollup import rebuild

    first, second, _theirs, mine = hourly
    rebuild()
    client.force_login(owner)
    day = DAY_START.date()
    response = client.get(
        reverse("analytics:publishing_export"),
        {"from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat(), "interval": "day"},
    )
    assert 'filename="cradle-publishing-daily.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    expected = {}
    for row in mine:
        if row.hour_timestamp.astimezone(UTC).date() >= day - timedelta(days=1):
            key = (row.hour_timestamp.astimezone(UTC).date().isoformat(), str(row.project_id), row.network)
            expected[key] = expected.get(key, 0) + row.posts_success
    # two days of two projects (the first one's on three networks), the day before them left out
    assert len(expected) == 8
    assert {(r["day_utc"], r["project_id"], r["network"]): int(r["posts_success"]) for r in rows} == expected
    assert "Theirs-secret" not in _body(client.get(reverse("analytics:publishing_export"), {"interval": "day"}))


def test_csv_400_names_the_parameter(client, owner, hourly):
    client.force_login(owner)
    response = client.get(reverse("analytics:publishing_export"), {"from": "not-a-date", "interval": "week"})
    assert response.status_code == 400 and response.content.decode().startswith("from: Enter a valid date.")
    response = client.get(reverse("analytics:publishing_export"), {"interval": "week"})
    assert response.status_code == 400
    assert response.content.decode() == "interval: The export has a row per hour or per day.\n"


def test_an_hour_read_as_text_is_written_as_isoformat_in_utc():
    from analytics.views import _utc_text

    assert _utc_text("2026-03-01 10:00:00") == "2026-03-01T10:00:00+00:00"
    assert _utc_text("2026-03-01 10:00:00.000000") == "2026-03-01T10:00:00+00:00"
    assert _utc_text("2026-03-01 10:00:00.250000") == "2026-03-01T10:00:00.250000+00:00"


def test_an_automatic_export_longer_than_the_hourly_limit_comes_per_day(client, owner):
    """Hours up to HOURLY_MAX_DAYS (the charts' own limit); past it, the automatic export is
    the day rows, named so: a year of hours was the one request that grew with the rows."""
    client.force_login(owner)
    last = NOW.date()
    month = {"from": (last - timedelta(days=HOURLY_MAX_DAYS - 1)).isoformat(), "to": last.isoformat()}
    response = client.get(reverse("analytics:publishing_export"), month)
    assert "hourly" in response["Content-Disposition"]
    assert _body(response).startswith("hour_utc,")
    longer = {**month, "from": (last - timedelta(days=HOURLY_MAX_DAYS)).isoformat()}
    response = client.get(reverse("analytics:publishing_export"), longer)
    assert "daily" in response["Content-Disposition"]
    assert _body(response).startswith("day_utc,")
    # Asked for per hour, a longer range is refused with the reason, as the charts refuse it.
    response = client.get(reverse("analytics:publishing_export"), {**longer, "interval": "hour"})
    assert response.status_code == 400 and "at most" in response.content.decode()
