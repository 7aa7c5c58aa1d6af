"""/healthz answers JSON whatever the database does: a monitor parses it, a load balancer counts 503s."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from cradle_site import health


def _beat_all() -> None:
    for name in health.REQUIRED_BEATS:
        health.beat(name)


def _queries_of_a_healthy_report() -> int:
    with CaptureQueriesContext(connection) as queries:
        assert health.report()["ok"] is True
    return len(queries)


class DropAt:
    """A database that answers ``n`` statements, then drops (MySQL's 2013, "lost connection")."""

    def __init__(self, n: int) -> None:
        self.left = n

    def __call__(self, execute, sql, params, many, context):
        if self.left == 0:
            raise OperationalError(2013, "Lost connection to server during query")
        self.left -= 1
        return execute(sql, params, many, context)


def test_it_answers_json_503_whichever_query_of_the_report_the_database_drops(client, db):
    _beat_all()
    statements = _queries_of_a_healthy_report()
    assert statements >= 3  # the ping, the heartbeats, the failing warnings at least
    for n in range(statements):
        with connection.execute_wrapper(DropAt(n)):
            response = client.get("/healthz", {"strict": "1"})
        assert response.status_code == 503, n
        assert response["Content-Type"] == "application/json", n
        body = response.json()
        assert body["ok"] is False
        assert body["database"] == "error: OperationalError", n
    assert client.get("/healthz").status_code == 200  # and back once the database answers


def test_it_answers_json_503_when_the_warnings_count_fails(client, db, monkeypatch):
    _beat_all()

    def gone():
        raise OperationalError(2006, "Server has gone away")

    monkeypatch.setattr("messaging.notices.warnings_failing", gone)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "database": "error: OperationalError", "jobs": {}}


def test_it_answers_json_503_when_the_report_itself_breaks(client, db, monkeypatch):
    def broken():
        raise RuntimeError("a bug in the report")

    monkeypatch.setattr(health, "report", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "error": "RuntimeError"}


@pytest.mark.parametrize("strict", ["0", "1"])
def test_it_stays_200_when_all_is_well(client, db, strict):
    _beat_all()
    response = client.get("/healthz", {"strict": strict})
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
