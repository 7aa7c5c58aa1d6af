"""backup -> wipe -> restore gives identical data; tampered or wrongly keyed files are refused."""

from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.aggregate import hourly_aggregate
from ops import binlog
from ops.backup import backup_create, backup_list, backup_restore, database_is_empty
from ops.sealed import BackupError
from publishing.models import PublishingLog
from tests.analytics.factories import (
    NOW,
    make_message,
    make_project,
    make_tasks,
    random_publishing_logs,
    random_status_logs,
    table_checksums,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _quiet(line: str) -> None:
    pass


@pytest.fixture
def filled(owner, other_user, settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    rng = random.Random(11)
    tasks = make_tasks(make_project(owner, "Ünïcode ✓ project"), 3) + make_tasks(make_project(other_user), 2)
    messages = [make_message(owner), make_message(other_user)]
    random_publishing_logs(rng, tasks, start=NOW - timedelta(hours=30), hours=30, count=400)
    random_status_logs(rng, messages, start=NOW - timedelta(hours=30), hours=30, count=100)
    hourly_aggregate(since=NOW - timedelta(hours=30), until=NOW + timedelta(hours=1))
    return settings.BACKUP_DIR


def test_backup_wipe_restore_gives_identical_data(filled):
    before = table_checksums()
    assert before["publishing_publishinglog"][0] == 400
    path = backup_create(progress=_quiet)
    assert path.read_bytes()[:8] == b"CRADLBK1"
    assert b"hello" not in path.read_bytes() and "Ünïcode".encode() not in path.read_bytes()

    call_command("flush", interactive=False, verbosity=0)
    assert database_is_empty()
    assert table_checksums() != before

    backup_restore(path=path, progress=_quiet)
    after = table_checksums()
    # The restore is an operation of its own: one audit event, written after the data came back.
    assert after.pop("ops_auditevent")[0] == 1 and before.pop("ops_auditevent")[0] == 0
    assert after == before
    assert PublishingLog.objects.count() == 400


def test_restore_refuses_a_non_empty_database_without_force(filled):
    path = backup_create(progress=_quiet)
    PublishingLog.objects.filter(pk__in=list(PublishingLog.objects.values_list("pk", flat=True)[:10])).delete()
    with pytest.raises(BackupError, match="not empty; pass --force"):
        backup_restore(path=path, progress=_quiet)
    assert PublishingLog.objects.count() == 390
    backup_restore(path=path, force=True, progress=_quiet)
    assert PublishingLog.objects.count() == 400


def test_a_tampered_backup_is_refused(filled):
    path = backup_create(progress=_quiet)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="tampered"):
        backup_restore(path=path, force=True, progress=_quiet)
    assert PublishingLog.objects.count() == 400


def test_a_truncated_backup_is_refused(filled):
    path = backup_create(progress=_quiet)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(BackupError, match="truncated|tampered"):
        backup_restore(path=path, force=True, progress=_quiet)


def test_a_wrongly_keyed_backup_is_refused(filled, settings):
    path = backup_create(progress=_quiet)
    original = settings.FERNET_KEYS
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(BackupError, match="wrong key"):
        backup_restore(path=path, force=True, progress=_quiet)
    # After a key rotation (old key second) the backup still restores.
    settings.FERNET_KEYS = [Fernet.generate_key().decode(), *original]
    backup_restore(path=path, force=True, progress=_quiet)


def test_not_a_backup_is_refused(filled, tmp_path):
    junk = tmp_path / "junk.cbak"
    junk.write_bytes(b"hello world, not a backup")
    with pytest.raises(BackupError, match="not a Cradle backup"):
        backup_restore(path=junk, force=True, progress=_quiet)


def test_retention_keeps_the_newest(filled):
    paths = [backup_create(keep=2, progress=_quiet) for _ in range(3)]
    assert backup_list(filled) == paths[1:]
    # On a server with a binary log each backup also has its binlog position beside it (ops.binlog).
    sidecars = [binlog.sidecar(p).name for p in paths[1:]] if binlog.log_bin_enabled() else []
    assert sorted(p.name for p in filled.iterdir()) == sorted(
        [p.name for p in paths[1:]] + [p.name + ".sha256" for p in paths[1:]] + sidecars
    )
    digest, name = paths[-1].with_name(paths[-1].name + ".sha256").read_text().split()
    import hashlib

    assert name == paths[-1].name and hashlib.sha256(paths[-1].read_bytes()).hexdigest() == digest


def test_commands(filled, capsys):
    call_command("db_backup", "--dry-run")
    assert "Would write a backup" in capsys.readouterr().out
    assert backup_list(filled) == []
    call_command("db_backup")
    out, err = capsys.readouterr()
    assert out.strip().endswith(".cbak") and "wrote" in err
    call_command("db_restore", "--dry-run")
    assert "is sound" in capsys.readouterr().out
    with pytest.raises(CommandError, match="restore refused: the database is not empty"):
        call_command("db_restore")
    call_command("db_restore", "--force")
    assert "Restored" in capsys.readouterr().out


def test_commands_refuse_bad_arguments(filled, tmp_path):
    with pytest.raises(CommandError, match="--keep must be at least 1"):
        call_command("db_backup", "--keep=0")
    with pytest.raises(CommandError, match="no backup file at"):
        call_command("db_restore", str(tmp_path / "missing.cbak"))
    with pytest.raises(CommandError, match="none found"):
        call_command("db_restore")


def test_backup_refuses_an_empty_database(db, settings, tmp_path):
    """An empty database usually means a wrong DATABASE_URL; its backup would push a real one out."""
    settings.BACKUP_DIR = tmp_path / "backups"
    with pytest.raises(CommandError, match="has no data; check DATABASE_URL"):
        call_command("db_backup", "--keep=1")
    assert not settings.BACKUP_DIR.exists()
    call_command("db_backup", "--allow-empty", stdout=io.StringIO(), stderr=io.StringIO())
    assert len(backup_list(settings.BACKUP_DIR)) == 1


def test_backup_names_bad_backup_dir_setting(filled, settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "a-file"
    settings.BACKUP_DIR.write_text("x")
    with pytest.raises(CommandError, match="^BACKUP_DIR .* is not a directory$"):
        call_command("db_backup")


@pytest.mark.sqlite_only
def test_a_failed_snapshot_is_one_line_and_leaves_nothing(filled, monkeypatch):
    """SQLite's own errors (a full disk) escaped as a traceback."""
    import sqlite3
    from types import SimpleNamespace

    from ops import backup as backup_module

    def read_only(path):  # the snapshot cannot be written, as on a full disk
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    monkeypatch.setattr(backup_module, "sqlite3", SimpleNamespace(connect=read_only, Error=sqlite3.Error))
    with pytest.raises(CommandError, match="^backup failed: cannot take a snapshot in .*readonly"):
        call_command("db_backup", stdout=io.StringIO(), stderr=io.StringIO())
    assert list(filled.iterdir()) == []


def test_restore_refuses_a_directory_and_a_damaged_header(filled, tmp_path):
    with pytest.raises(CommandError, match="is a directory; name a .cbak file in it"):
        call_command("db_restore", str(tmp_path))
    odd = tmp_path / "list-header.cbak"
    odd.write_bytes(b"CRADLBK1" + (2).to_bytes(4, "big") + b"[]")  # valid JSON, but not an object
    with pytest.raises(CommandError, match="backup header is damaged"):
        call_command("db_restore", str(odd))


@pytest.mark.sqlite_only
def test_restore_refuses_a_sound_file_that_is_not_sqlite(filled, tmp_path):
    """A correctly keyed file whose content is no SQLite database: a traceback before."""
    from ops import sealed

    path = tmp_path / "not-sqlite.cbak"
    with open(path, "wb") as out:
        sealed.seal([b"-- a MySQL dump, say\n" * 100], out, header={"vendor": "sqlite", "created": "x"})
    before = table_checksums()
    with pytest.raises(CommandError, match="restore refused: decrypted backup is not a sound SQLite database"):
        call_command("db_restore", str(path), "--force", stderr=io.StringIO())
    assert table_checksums() == before


def test_the_daily_backup_job_refuses_an_empty_database_and_rotates_nothing(db, settings, tmp_path):
    from ops import tasks

    settings.BACKUP_DIR = tmp_path / "backups"
    with pytest.raises(BackupError, match="database is empty"):
        tasks.backup_daily()
    assert not settings.BACKUP_DIR.exists()


@pytest.mark.sqlite_only
def test_restore_until_on_sqlite_says_it_needs_mariadb(filled):
    path = backup_create(progress=_quiet)
    with pytest.raises(CommandError, match="^restore refused: point-in-time recovery needs MariaDB/MySQL"):
        call_command("db_restore", str(path), "--force", "--until", "2026-12-01 10:42:00", stderr=io.StringIO())
    assert PublishingLog.objects.count() == 400
