"""Restore drills (``manage.py backup_verify``, weekly): a backup is only as good as its restore.

The newest backup (fetched from off-site when none is on this machine) is restored into a
scratch database — a scratch SQLite file, or a scratch MariaDB database ``<name>_drill`` on
the same server with the archived binlogs replayed on top — and then checked:

- row counts: SQLite backups carry the row count of every table at snapshot time in their
  header, and the scratch copy must hold exactly those; a MariaDB dump has no such count (it
  is taken inside the dump's own transaction), so there every table of the live schema must
  be there and the copy must not be empty;
- a sample of encrypted values (every ``EncryptedTextField`` column, a few rows each) must
  decrypt with today's FERNET_KEYS: a backup whose secrets cannot be read is no backup.

Each drill is recorded (``RestoreDrill``); ``ops.health`` turns a failed, missing or old
drill into a 503 of ``/healthz?strict=1``, and the admin lists them.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from pathlib import Path

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cradle_site import crypto
from cradle_site.fields import EncryptedTextField
from ops import binlog, offsite, sealed
from ops.backup import _restore_mysql, backup_list, sqlite_counts
from ops.models import RestoreDrill
from ops.sealed import BackupError

SAMPLE_ROWS = 5


class DrillFailed(BackupError):
    pass


def restore_drill(*, progress=print) -> RestoreDrill:
    """Run one drill and record it, passed or failed."""
    drill = RestoreDrill(started_at=timezone.now())
    began = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(dir=_scratch_parent()) as scratch:
            path = _newest_backup(Path(scratch))
            drill.backup_name = path.name
            header = sealed.verify(path)
            if header.get("vendor") == "sqlite" and connection.vendor == "sqlite":
                _drill_sqlite(drill, path, header, Path(scratch))
            elif header.get("vendor") == "mysql" and connection.vendor == "mysql":
                _drill_mysql(drill, path, header)
            else:
                raise DrillFailed(f"backup is of a {header.get('vendor')} database; this site uses {connection.vendor}")
        drill.ok = True
        drill.detail = f"{drill.tables} tables, {drill.rows:,} rows, {drill.sampled} encrypted values decrypted"
    except (BackupError, OSError) as exc:
        drill.ok = False
        drill.detail = str(exc)[:2000]
    drill.seconds = round(time.monotonic() - began, 3)
    drill.finished_at = timezone.now()
    drill.save()
    progress(("passed: " if drill.ok else "FAILED: ") + drill.detail)
    return drill


def _scratch_parent() -> Path:
    directory = Path(settings.BACKUP_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _newest_backup(scratch: Path) -> Path:
    local = backup_list()
    if local:
        return local[-1]
    remote = [name for name in offsite.remote_names() if name.endswith(".cbak")]
    if remote:
        return offsite.download(remote[-1], scratch)
    raise DrillFailed("there is no backup to restore (none in BACKUP_DIR, none off-site)")


def _encrypted_columns() -> list[tuple[str, str]]:
    return [
        (model._meta.db_table, field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def _check_sample(drill: RestoreDrill, fetch) -> None:
    """``fetch(table, column)`` -> up to SAMPLE_ROWS non-empty values from the scratch copy."""
    for table, column in _encrypted_columns():
        for (value,) in fetch(table, column):
            try:
                crypto.decrypt(value)
            except (InvalidToken, TypeError, ValueError):
                raise DrillFailed(f"{table}.{column} holds values that do not decrypt with FERNET_KEYS") from None
            drill.sampled += 1


def _drill_sqlite(drill: RestoreDrill, path: Path, header: dict, scratch: Path) -> None:
    plain = scratch / "drill.sqlite3"
    with open(plain, "wb") as out:
        os.chmod(plain, 0o600)
        for chunk in sealed.unseal(path):
            out.write(chunk)
    db = sqlite3.connect(plain)
    try:
        try:
            sound = db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            sound = False
        if not sound:
            raise DrillFailed("the restored copy is not a sound SQLite database")
        counts = sqlite_counts(plain)
        expected = header.get("counts")
        if expected is not None and counts != expected:
            wrong = sorted(name for name in set(counts) | set(expected) if counts.get(name) != expected.get(name))
            raise DrillFailed(f"row counts differ from the backup's in {', '.join(wrong[:5])}")
        _check_sample(
            drill,
            lambda table, column: db.execute(
                f'SELECT "{column}" FROM "{table}" WHERE "{column}" != \'\' LIMIT {SAMPLE_ROWS}'
            ).fetchall(),
        )
    finally:
        db.close()
    _tally(drill, counts)


def _drill_mysql(drill: RestoreDrill, path: Path, header: dict) -> None:
    live = connection.settings_dict["NAME"]
    scratch_db = f"{live}_drill"[:64]
    quoted = connection.ops.quote_name(scratch_db)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
        cursor.execute(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4")
    try:
        start = _restore_mysql(path, database=scratch_db)
        if start and binlog.archived():
            drill.binlogs = binlog.replay(
                start=start,
                until=None,
                source_database=header.get("database") or live,
                database=scratch_db,
                progress=lambda line: None,
            )
        with connection.cursor() as cursor:
            expected = set(connection.introspection.table_names(cursor))
            cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [scratch_db])
            tables = {row[0] for row in cursor.fetchall()}
            if missing := sorted(expected - tables):
                raise DrillFailed(f"the restored copy lacks tables: {', '.join(missing[:5])}")
            counts = {}
            for table in sorted(tables):
                cursor.execute(f"SELECT COUNT(*) FROM {quoted}.{connection.ops.quote_name(table)}")
                counts[table] = cursor.fetchone()[0]

            def fetch(table: str, column: str) -> list:
                q = connection.ops.quote_name
                cursor.execute(
                    f"SELECT {q(column)} FROM {quoted}.{q(table)} WHERE {q(column)} != '' LIMIT {SAMPLE_ROWS}"
                )
                return cursor.fetchall()

            _check_sample(drill, fetch)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
    _tally(drill, counts)


def _tally(drill: RestoreDrill, counts: dict[str, int]) -> None:
    drill.tables = len(counts)
    drill.rows = sum(counts.values())
    if drill.rows == 0:
        raise DrillFailed("the restored copy holds no rows")
