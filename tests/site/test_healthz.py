"""/healthz: "ok"/"fail" to the public, the JSON report to the token or a staff session, and
never a 500 whatever the database does: a monitor parses it, a load balancer counts 503s."""

from __future__ import annotations

import socket

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from cradle_site import health

TOKEN = "hz-token-0123456789abcdef"
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def _token(settings):
    settings.HEALTHZ_TOKEN = TOKEN


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
            response = client.get("/healthz", {"strict": "1"}, **BEARER)
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
    response = client.get("/healthz", **BEARER)
    assert response.status_code == 503
    assert response.json() == {"ok": False, "database": "error: OperationalError", "jobs": {}}


def test_it_answers_json_503_when_the_report_itself_breaks(client, db, monkeypatch):
    def broken():
        raise RuntimeError("a bug in the report")

    monkeypatch.setattr(health, "report", broken)
    response = client.get("/healthz", **BEARER)
    assert response.status_code == 503
    assert response.json() == {"ok": False, "error": "RuntimeError"}


@pytest.mark.parametrize("strict", ["0", "1"])
def test_it_stays_200_when_all_is_well(client, db, strict):
    _beat_all()
    response = client.get("/healthz", {"strict": strict}, **BEARER)
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    public = client.get("/healthz", {"strict": strict})
    assert (public.status_code, public.content, public["Content-Type"]) == (200, b"ok", "text/plain; charset=utf-8")


def test_it_tells_the_public_only_ok_or_fail(client, db):
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (503, b"fail")  # no job has run yet
    assert "messaging.sweep" not in response.content.decode()
    _beat_all()
    assert client.get("/healthz").content == b"ok"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", "Bearer", ""],
)
def test_it_gives_no_details_to_a_wrong_token(client, db, authorization):
    response = client.get("/healthz", HTTP_AUTHORIZATION=authorization)
    assert (response.status_code, response.content) == (503, b"fail")


def test_it_takes_the_token_from_the_header_only(client, db):
    assert client.get("/healthz", {"token": TOKEN}).content == b"fail"
    assert client.get("/healthz", **BEARER).json()["jobs"]["messaging.sweep"]["stale"] is True


def test_it_gives_no_details_for_an_empty_token_setting(client, db, settings):
    settings.HEALTHZ_TOKEN = ""
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer ").content == b"fail"


def test_it_gives_details_to_a_staff_session_and_not_to_a_user(client, owner, staff):
    client.force_login(owner)
    assert client.get("/healthz").content == b"fail"
    client.force_login(staff)
    body = client.get("/healthz").json()
    assert body["database"] == "ok" and "messaging.sweep" in body["jobs"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once it is closed


@pytest.fixture
def database_down(transactional_db):
    """The default database unreachable for real: MariaDB on a closed port, SQLite a file in
    a folder that does not exist. The next connection fails as it would in an outage."""
    saved = dict(connection.settings_dict)

    def down() -> None:
        connection.close()
        if connection.vendor == "sqlite":
            connection.settings_dict["NAME"] = "/nonexistent-folder/cradle.sqlite3"
        else:
            connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))

    yield down
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


@pytest.mark.parametrize("who", ["anonymous", "user", "staff", "token"])
def test_it_answers_fail_503_never_500_when_the_database_is_down(client, database_down, who):
    from accounts.models import User

    if who in ("user", "staff"):
        user = User.objects.create_user(username=who, email=f"{who}@example.com", password="pw-123456!x")
        User.objects.filter(pk=user.pk).update(is_staff=who == "staff")
        client.force_login(User.objects.get(pk=user.pk))  # a session row the middlewares would read
    _beat_all()
    assert client.get("/healthz").status_code == 200  # healthy until the database goes
    database_down()
    headers = BEARER if who == "token" else {}
    response = client.get("/healthz", **headers)
    assert response.status_code == 503
    if who == "token":
        assert response.json() == {"ok": False, "database": "error: OperationalError", "jobs": {}}
    else:
        assert response.content == b"fail"  # a staff session cannot be checked without the database
