"""The read replica: a real second MariaDB (3308) replicating from the primary (3307) through
its binary log. The statistics pages, CSV exports and admin log lists read from it; a
replica that is down or stopped is skipped; whoever just wrote reads from the primary."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from analytics.aggregate import hourly_aggregate
from analytics.models import AnalyticsHourly
from cradle_site import replica
from publishing.models import Project
from tests.analytics.factories import NOW, make_project, make_tasks, random_publishing_logs

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
    pytest.mark.mariadb_only,
    pytest.mark.slow,
]


@pytest.fixture
def replica_db(settings):
    if "replica" not in settings.DATABASES:
        if os.environ.get("CRADLE_REQUIRE_REPLICA") == "1":
            pytest.fail("CRADLE_REQUIRE_REPLICA=1 but TEST_REPLICA_MYSQL_URL is not set (bin/test sets it)")
        pytest.skip("no replica: set TEST_REPLICA_MYSQL_URL=mysql://root@127.0.0.1:3308/x with DATABASE_URL on 3307")
    settings.DATABASE_REPLICA_URL = os.environ["TEST_REPLICA_MYSQL_URL"]
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0
    usable, why = replica.replica_status(fresh=True)
    if not usable:
        pytest.fail(f"the replica on 3308 is not usable: {why} (bin/services sets it up)")
    return connections["replica"]


@pytest.fixture
def stats(replica_db, owner, client):
    import random

    project = make_project(owner, "Replicated")
    random_publishing_logs(random.Random(3), make_tasks(project, 2), start=NOW - timedelta(hours=5), hours=5, count=50)
    hourly_aggregate(since=NOW - timedelta(hours=6), until=NOW + timedelta(hours=1))
    _caught_up(AnalyticsHourly, AnalyticsHourly.objects.count())
    client.force_login(owner)
    return project


def _caught_up(model, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while model.objects.using("replica").count() != count:
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.1)


def _reads(captured, table: str) -> int:
    return sum(table in query["sql"] for query in captured.captured_queries)


def _page_reads(client, url: str) -> tuple[int, int, bytes]:
    """(reads of analytics tables on the replica, on the primary, body) for a GET of ``url``."""
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get(url)
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
    return _reads(on_replica, "analytics_"), _reads(on_primary, "analytics_"), body


def test_replica_is_another_server(replica_db):
    assert replica_db.settings_dict["PORT"] != connections["default"].settings_dict["PORT"]
    with replica_db.cursor() as cursor:
        cursor.execute("SELECT @@server_id")
        replica_id = cursor.fetchone()[0]
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT @@server_id")
        assert cursor.fetchone()[0] != replica_id


def test_statistics_pages_and_csv_exports_read_from_the_replica(stats, client):
    for url in ("/stats/", f"/stats/projects/{stats.pk}/", "/stats/publishing/export.csv"):
        on_replica, on_primary, _body = _page_reads(client, url)
        assert on_replica > 0 and on_primary == 0, url


def test_the_admins_log_list_reads_from_the_replica(replica_db, stats, client, staff):
    client.force_login(staff)
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        assert client.get("/admin/publishing/publishinglog/").status_code == 200
    assert _reads(on_replica, "publishing_publishinglog") > 0
    assert _reads(on_primary, "publishing_publishinglog") == 0


def test_a_stopped_replica_is_skipped_and_the_page_is_current(replica_db, stats, client):
    with replica_db.cursor() as cursor:
        cursor.execute("STOP SLAVE SQL_THREAD")
    try:
        Project.objects.filter(pk=stats.pk).update(name="Renamed while the replica stands still")
        assert replica.replica_status(fresh=True) == (False, "replication stopped")
        on_replica, on_primary, body = _page_reads(client, f"/stats/projects/{stats.pk}/")
        assert on_replica == 0 and on_primary > 0
        assert b"Renamed while the replica stands still" in body
    finally:
        with replica_db.cursor() as cursor:
            cursor.execute("START SLAVE SQL_THREAD")
    _caught_up(Project, Project.objects.count())


def test_a_replica_that_is_down_is_skipped(replica_db, stats, client):
    port = replica_db.settings_dict["PORT"]
    replica_db.close()
    replica_db.settings_dict["PORT"] = 1  # nothing listens there
    try:
        with CaptureQueriesContext(connections["default"]) as on_primary:
            assert client.get("/stats/").status_code == 200
        assert replica.replica_status()[1].startswith("down")
        assert _reads(on_primary, "analytics_") > 0
    finally:
        replica_db.close()
        replica_db.settings_dict["PORT"] = port


def test_who_just_wrote_reads_from_the_primary(replica_db, stats, client, settings):
    response = client.post(
        "/publishing/", {"name": "Fresh", "description": "", "daily_cap": "10", "duplicate_window_days": "7"}
    )
    assert response.status_code == 302
    assert float(response.cookies[replica.PIN_COOKIE].value) > time.time()
    on_replica, on_primary, _body = _page_reads(client, "/stats/")
    assert on_replica == 0 and on_primary > 0
    client.cookies[replica.PIN_COOKIE] = str(time.time() - 1)  # the pin has run out
    on_replica, on_primary, _body = _page_reads(client, "/stats/")
    assert on_replica > 0 and on_primary == 0


def test_a_lag_over_the_setting_is_skipped(settings):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 10
    assert replica.lag_verdict(10) == (True, "lags 10 s")
    assert replica.lag_verdict(11) == (False, "lags 11 s")
    assert replica.lag_verdict(None) == (False, "replication stopped")
