"""The operator's commands: a database that is missing or not set up is one line, not a
traceback; init_db and seed_demo refuse bad input before doing anything."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError

from accounts.models import User
from cradle_site.commands import database_error_line
from tests.conftest import ROOT

COMMANDS = [
    ["purge_logs", "--dry-run"],
    ["db_vacuum"],
    ["db_backup"],
    ["setup_schedules"],
    ["seed_demo"],
    ["rotate_secrets", "--dry-run"],
    ["analytics_backfill", "--since", "2024-01-01", "--until", "2024-01-02"],
]


def run_manage(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "cradle_site.settings", "DEBUG": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: args[0])
def test_a_database_that_cannot_be_opened_is_one_line(args, tmp_path):
    result = run_manage(args, CRADLE_VAR_DIR=str(tmp_path), DATABASE_URL="sqlite:////nonexistent-cradle-dir/x.sqlite3")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: database /nonexistent-cradle-dir/x.sqlite3: unable to open database file "
        "(check DATABASE_URL; --traceback shows more)"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("args", [a for a in COMMANDS if a[0] not in {"db_vacuum", "db_backup"}], ids=lambda a: a[0])
def test_a_database_without_tables_says_run_init_db(args, tmp_path):
    result = run_manage(args, CRADLE_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/new.sqlite3")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"CommandError: database {tmp_path}/new.sqlite3 is not set up (no such table: ")
    assert line.endswith("run `manage.py init_db` first")


def test_database_error_line_reads_a_mysql_error():
    exc = OperationalError(1045, "Access denied for user 'root'@'10.0.0.1' (using password: YES)")
    assert "Access denied for user 'root'@'10.0.0.1'" in database_error_line(exc)
    assert "1045" not in database_error_line(exc)
    missing = OperationalError(1146, "Table 'cradle.accounts_user' doesn't exist")
    assert database_error_line(missing).endswith("run `manage.py init_db` first")


@pytest.mark.slow
def test_init_db_says_when_it_cannot_create_the_sqlite_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_manage(["init_db"], CRADLE_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{blocker}/sub/db.sqlite3")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"CommandError: cannot create the folder {blocker}/sub for the SQLite database: Not a directory"
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--admin-username", ""], "--admin-username must not be empty"),
        (["--admin-username", "boss", "--admin-email", "nope"], "--admin-email must be an e-mail address"),
    ],
)
def test_init_db_refuses_bad_admin_options_before_migrating(db, args, message, monkeypatch):
    called = []
    monkeypatch.setattr("cradle_site.management.commands.init_db.call_command", lambda *a, **k: called.append(a))
    with pytest.raises(CommandError, match=message):
        call_command("init_db", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert called == []  # nothing ran
    assert not User.objects.filter(username="boss").exists()


def test_seed_demo_refuses_a_live_site(db, settings):
    """With DEBUG=0 it would have created admin / admin-password on a production database."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match="runs only with DEBUG=1; pass --force"):
        call_command("seed_demo")
    assert not User.objects.filter(username="admin").exists()


def test_seed_demo_makes_a_demo_owner_who_can_be_warned(db, settings):
    from accounts.models import User

    settings.DEBUG = True
    call_command("seed_demo")
    assert User.objects.get(username="demo").email_verified
    assert User.objects.get(username="admin").email_verified
