"""A frozen database fails a request or a job after the timeouts instead of hanging it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

from cradle_site.db_timeouts import unhurried_connection
from cradle_site.env import DatabaseTimeouts, parse_database_url

TIMEOUTS = DatabaseTimeouts(connect=5, read=60, write=30, busy=20)


def test_it_gives_mysql_connect_read_and_write_timeouts():
    options = parse_database_url("mysql://u:p@db:3306/cradle", base_dir=Path("/srv"), timeouts=TIMEOUTS)["OPTIONS"]
    assert (options["connect_timeout"], options["read_timeout"], options["write_timeout"]) == (5, 60, 30)


def test_it_leaves_a_zero_read_or_write_timeout_unlimited():
    timeouts = DatabaseTimeouts(connect=3, read=0, write=0, busy=20)
    options = parse_database_url("mysql://u@db/cradle", base_dir=Path("/srv"), timeouts=timeouts)["OPTIONS"]
    assert options["connect_timeout"] == 3
    assert "read_timeout" not in options and "write_timeout" not in options


def test_it_gives_sqlite_its_busy_timeout():
    timeouts = DatabaseTimeouts(connect=5, read=60, write=30, busy=7)
    entry = parse_database_url("sqlite:///var/x.sqlite3", base_dir=Path("/srv"), timeouts=timeouts)
    assert entry["OPTIONS"]["timeout"] == 7


def test_the_defaults_stay_above_innodbs_lock_wait():
    # A lock wait (50 s by default) must end as the retryable 1205, not as a lost connection.
    assert settings.DATABASE_READ_TIMEOUT > 50
    assert 1 <= settings.DATABASE_CONNECT_TIMEOUT <= 10


@pytest.mark.mariadb_only
def test_the_timeouts_reach_the_connection(db):
    params = connection.get_connection_params()
    assert params["connect_timeout"] == settings.DATABASE_CONNECT_TIMEOUT
    assert params["read_timeout"] == settings.DATABASE_READ_TIMEOUT
    assert params["write_timeout"] == settings.DATABASE_WRITE_TIMEOUT


@pytest.mark.mariadb_only
def test_a_query_longer_than_the_read_timeout_fails_after_the_timeout(db):
    hurried = connection.copy()
    hurried.settings_dict["OPTIONS"]["read_timeout"] = 1
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError), hurried.cursor() as cursor:
            cursor.execute("SELECT SLEEP(8)")
    finally:
        hurried.close()
    assert time.monotonic() - started < 4  # about the timeout (3x on libmysqlclient), not the 8 s


@pytest.mark.mariadb_only
def test_maintenance_runs_without_the_read_timeout(db, monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "read_timeout", 1)
    with unhurried_connection() as maintenance:
        assert "read_timeout" not in maintenance.get_connection_params()
        assert maintenance.get_connection_params()["connect_timeout"] == settings.DATABASE_CONNECT_TIMEOUT
        with maintenance.cursor() as cursor:
            cursor.execute("SELECT SLEEP(2)")
            assert cursor.fetchone() == (0,)
    assert connection.settings_dict["OPTIONS"]["read_timeout"] == 1  # the shared settings are untouched


@pytest.mark.sqlite_only  # SQLite has no read timeout to lift: the shared connection serves
def test_maintenance_on_sqlite_uses_the_shared_connection(db):
    with unhurried_connection() as maintenance:
        assert maintenance is connections[DEFAULT_DB_ALIAS]
