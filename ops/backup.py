"""Online, consistent, encrypted backups and their restore (``db_backup`` / ``db_restore``).

SQLite: the sqlite3 backup API copies a consistent snapshot to a temporary file while the
site keeps running; the file is then encrypted and removed. MySQL/MariaDB:
``mariadb-dump --single-transaction --quick`` streams a consistent dump through a pipe,
chunk by chunk, so a large database never sits whole in memory or unencrypted on disk.
The file format is in ``ops/sealed.py``; next to each backup a ``.sha256`` file lets an
operator check a copy with ``sha256sum -c`` without the key.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

from cradle_site.audit_vocabulary import EventType
from ops import binlog, offsite, sealed
from ops.audit import audit_record
from ops.sealed import BackupError

SUFFIX = ".cbak"
# Rows in these tables do not make a database "in use": a fresh `init_db` fills them.
_BOOKKEEPING_TABLES = {"django_migrations", "django_content_type", "auth_permission", "django_q_schedule"}

Progress = Callable[[str], None]


def _vendor() -> str:
    return "sqlite" if connection.vendor == "sqlite" else "mysql"


class EmptyDatabaseError(BackupError):
    """The database has no data, so nothing worth a backup (see ``backup_create``)."""


def backup_create(
    *, directory: Path | None = None, keep: int | None = None, allow_empty: bool = False, progress: Progress = print
) -> Path:
    """Write one encrypted backup of the default database; return its path.

    An empty database is refused unless ``allow_empty``: it usually means a wrong
    DATABASE_URL, and its backup would push a real one out of the kept set.
    """
    if connection.in_atomic_block:
        # Refused, not attempted: on SQLite the backup API cannot read through a connection
        # holding a write transaction and sqlite3 retries that forever (a silent hang); on
        # MySQL the dump is another session that would not see the transaction's rows, and
        # the backup's audit event would roll back with it while the file stays.
        raise BackupError("a backup cannot be made inside a database transaction; run it on its own")
    if not allow_empty and database_is_empty():
        name = connection.settings_dict["NAME"]
        raise EmptyDatabaseError(f"the database is empty ({name} has no data; check DATABASE_URL)")
    directory = Path(directory or settings.BACKUP_DIR)
    keep = keep if keep is not None else settings.BACKUP_KEEP
    directory.mkdir(parents=True, exist_ok=True)
    vendor = _vendor()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / f"cradle-{vendor}-{stamp}{SUFFIX}"
    partial = target.with_suffix(SUFFIX + ".partial")
    header = {"vendor": vendor, "created": stamp, "database": connection.settings_dict["NAME"].rsplit("/", 1)[-1]}
    try:
        with open(partial, "wb") as out:
            os.chmod(partial, 0o600)
            if vendor == "sqlite":
                digest = _seal_sqlite(out, header, directory, progress)
            else:
                digest = _seal_mysql(out, header, directory, progress)
            out.flush()
            os.fsync(out.fileno())
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    target.with_name(target.name + ".sha256").write_text(f"{digest}  {target.name}\n")
    if "binlog" in header:
        # Where the binlog archive must start for this backup (ops.binlog reads it); not secret.
        binlog.sidecar(target).write_text(
            json.dumps({"binlog_file": header["binlog"][0], "binlog_pos": header["binlog"][1]})
        )
    progress(f"wrote {target} ({target.stat().st_size:,} bytes)")
    audit_record(EventType.BACKUP_MADE, label=target.name, data={"vendor": vendor, "bytes": target.stat().st_size})
    for old in backup_prune(directory=directory, keep=keep):
        progress(f"removed old backup {old.name}")
    if offsite.upload(target):
        progress(f"copied off-site and checked: {target.name}")
        for name in offsite.remote_prune():
            progress(f"removed old off-site copy {name}")
    return target


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as stream:
        while chunk := stream.read(sealed.CHUNK_BYTES):
            yield chunk


def _seal_sqlite(out, header: dict, directory: Path, progress: Progress) -> str:
    connection.ensure_connection()
    fd, snapshot = tempfile.mkstemp(dir=directory, suffix=".sqlite3.tmp")
    os.close(fd)
    try:
        target = sqlite3.connect(snapshot)
        try:
            # Pages in steps so writers are not blocked for the whole copy.
            connection.connection.backup(target, pages=4096)
        except sqlite3.Error as exc:
            # e.g. "database or disk is full" in BACKUP_DIR
            raise BackupError(f"cannot take a snapshot in {directory}: {exc}") from exc
        finally:
            target.close()
        header["counts"] = sqlite_counts(snapshot)  # what a restore drill must find again
        progress(f"snapshot taken ({Path(snapshot).stat().st_size:,} bytes), encrypting")
        return sealed.seal(_file_chunks(Path(snapshot)), out, header=header)
    finally:
        os.unlink(snapshot)


def sqlite_counts(path: str | Path) -> dict[str, int]:
    """Rows per table of a SQLite file."""
    db = sqlite3.connect(path)
    try:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {name: db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in sorted(names)}
    finally:
        db.close()


def _mysql_args(binary: str, *, using: str = "default", charset: bool = True) -> tuple[list[str], dict]:
    db = connections[using].settings_dict
    args = [binary, f"--user={db['USER']}"] + (["--default-character-set=utf8mb4"] if charset else [])
    socket = db.get("OPTIONS", {}).get("unix_socket")
    if socket:
        args.append(f"--socket={socket}")
    else:
        args += [f"--host={db['HOST'] or '127.0.0.1'}", f"--port={db['PORT'] or 3306}"]
    # The password goes through the environment, not argv, so `ps` does not show it.
    env = {**os.environ, "MYSQL_PWD": db["PASSWORD"] or ""}
    return args, env


def _which(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise BackupError(f"none of {', '.join(names)} is installed; install the MariaDB/MySQL client")


def _seal_mysql(out, header: dict, directory: Path, progress: Progress) -> str:
    args, env = _mysql_args(_which("mariadb-dump", "mysqldump"))
    args += ["--single-transaction", "--quick", "--no-tablespaces", "--hex-blob"]
    if binlog.log_bin_enabled():
        # The dump's head names the binlog position it is consistent with: the replay starts there.
        args.append("--master-data=2")
    args.append(connection.settings_dict["NAME"])
    head = bytearray()

    def chunks() -> Iterator[bytes]:
        for chunk in iter(lambda: process.stdout.read(sealed.CHUNK_BYTES), b""):
            if len(head) < 65536:
                head.extend(chunk[:65536])
            yield chunk

    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=env)
        try:
            digest = sealed.seal(chunks(), out, header=header)
        finally:
            process.stdout.close()
            code = process.wait()
        if code != 0:
            errors.seek(0)
            raise BackupError(f"{Path(args[0]).name} failed: {_last_line(errors.read())}")
    if position := binlog.position_in_dump(bytes(head)):
        header["binlog"] = list(position)  # for the caller's sidecar (the sealed header is written)
    progress("dump complete, encrypted")
    return digest


def _last_line(raw: bytes) -> str:
    lines = [line for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no error output"


def backup_list(directory: Path | None = None) -> list[Path]:
    """Backups in ``directory``, oldest first (the names sort by time)."""
    directory = Path(directory or settings.BACKUP_DIR)
    return sorted(directory.glob(f"cradle-*{SUFFIX}"))


def backup_prune(*, directory: Path, keep: int) -> list[Path]:
    backups = backup_list(directory)
    removed = backups[: max(0, len(backups) - keep)]
    for path in removed:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".sha256").unlink(missing_ok=True)
        binlog.sidecar(path).unlink(missing_ok=True)
    return removed


def database_is_empty() -> bool:
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in _BOOKKEEPING_TABLES:
                continue
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
            if cursor.fetchone():
                return False
    return True


def backup_verify(*, path: Path) -> dict:
    """The backup's header if its key is known and its checksum holds; BackupError otherwise."""
    path = Path(path)
    if path.is_dir():
        raise BackupError(f"{path} is a directory; name a .cbak file in it")
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    return sealed.verify(path)


def backup_restore(
    *, path: Path, force: bool = False, until: datetime | None = None, progress: Progress = print
) -> dict:
    """Verify, decrypt and load a backup into the default database; with ``until``, then
    replay the archived binlogs up to that moment (MariaDB/MySQL only)."""
    header = backup_verify(path=path)
    vendor = _vendor()
    if header.get("vendor") != vendor:
        raise BackupError(f"backup is of a {header.get('vendor')} database; this site uses {vendor}")
    if until is not None and vendor == "sqlite":
        raise BackupError("point-in-time recovery needs MariaDB/MySQL with a binary log; SQLite restores whole backups")
    if not force and not database_is_empty():
        raise BackupError("the database is not empty; pass --force to overwrite it")
    progress(f"verified {Path(path).name}, restoring")
    if vendor == "sqlite":
        _restore_sqlite(Path(path))
    else:
        database = connection.settings_dict["NAME"]
        start = _restore_mysql(Path(path), database=database)
        if until is not None:
            if start is None:
                raise BackupError("this backup records no binlog position (the server wrote no binary log then)")
            binlog.replay(
                start=start,
                until=until,
                source_database=header.get("database") or database,
                database=database,
                progress=progress,
            )
    progress("restore complete")
    audit_record(
        EventType.BACKUP_RESTORED, label=Path(path).name, data={"vendor": vendor, "made": header.get("created")}
    )
    return header


def _restore_sqlite(path: Path) -> None:
    connection.ensure_connection()
    directory = Path(connection.settings_dict["NAME"]).parent
    fd, plain = tempfile.mkstemp(dir=directory, suffix=".restore.tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in sealed.unseal(path):
                out.write(chunk)
        source = sqlite3.connect(plain)
        try:
            try:
                sound = source.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            except sqlite3.DatabaseError:  # "file is not a database"
                sound = False
            if not sound:
                raise BackupError("decrypted backup is not a sound SQLite database")
            # The backup API replaces every page of the live database in one step
            # (all or nothing: a failure leaves the live database as it was).
            try:
                source.backup(connection.connection)
            except sqlite3.Error as exc:  # e.g. "database is locked" by a busy worker
                raise BackupError(f"could not write the live database, which is unchanged: {exc}") from exc
        finally:
            source.close()
    finally:
        os.unlink(plain)


def _restore_mysql(path: Path, *, database: str, using: str = "default") -> tuple[str, int] | None:
    """Load a dump into ``database``; return the binlog position its head records, if any."""
    args, env = _mysql_args(_which("mariadb", "mysql"), using=using)
    args.append(database)
    head = b""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=errors, stdout=subprocess.DEVNULL, env=env)
        try:
            for chunk in sealed.unseal(path):
                if len(head) < 65536:
                    head += chunk[:65536]
                process.stdin.write(chunk)
            process.stdin.close()
        except BrokenPipeError:
            pass  # the client quit early; its exit code and stderr below say why
        except BaseException:
            process.kill()
            process.wait()
            raise
        if process.wait() != 0:
            errors.seek(0)
            raise BackupError(f"{Path(args[0]).name} failed: {_last_line(errors.read())}")
    # Django may hold cached state about the old tables; start afresh.
    connections[using].close()
    return binlog.position_in_dump(head)
