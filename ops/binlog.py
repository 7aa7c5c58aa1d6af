"""Point-in-time recovery on MariaDB/MySQL: archive closed binary logs, replay them after a restore.

A full backup (``ops.backup``) runs ``mariadb-dump --master-data=2`` when the server writes a
binary log, so the dump's head names the binlog file and position it is consistent with.
``binlog_archive`` (a schedule every BINLOG_ARCHIVE_MINUTES) closes the current binlog
(``FLUSH BINARY LOGS``), fetches each closed one not archived yet over the replication protocol
(``mariadb-binlog --read-from-remote-server --raw``: the site needs no access to the server's
disk) and seals it like a backup (encrypted, HMAC, sha256 sidecar), then copies it off-site.
``replay`` decrypts the archives from the backup's position on and pipes
``mariadb-binlog --start-position --stop-datetime`` into the ``mariadb`` client.

SQLite has no binary log: there the daily and hourly online backups are the recovery points.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections

from ops import offsite, sealed
from ops.sealed import BackupError

SUFFIX = ".cbin"
_POSITION = re.compile(rb"CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+)")


def log_bin_enabled(using: str = "default") -> bool:
    connection = connections[using]
    if connection.vendor != "mysql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@log_bin")
        return bool(cursor.fetchone()[0])


def position_in_dump(head: bytes) -> tuple[str, int] | None:
    """The (file, position) ``--master-data=2`` wrote near the top of a dump."""
    found = _POSITION.search(head)
    return (found.group(1).decode(), int(found.group(2))) if found else None


def sidecar(backup: Path) -> Path:
    """The small JSON file next to a MariaDB backup naming its binlog file and position."""
    return backup.with_name(backup.name + ".binlog.json")


def _first_needed(directory: Path, closed: list[str]) -> int:
    """The first binlog sequence number to archive: after the last archived one; with none
    archived yet, the one the oldest local backup starts from (older ones replay onto nothing);
    with no such backup either, only the newest closed one: a server that has run for a
    while holds days of binlogs that no backup of ours can use."""
    done = archived(directory)
    if done:
        return _sequence(list(done)[-1]) + 1
    if starts := _backup_starts():
        return min(starts)
    return _sequence(closed[-1]) if closed else 0


def _backup_starts() -> list[int]:
    """The binlog sequence number each local backup starts from (oldest backup first)."""
    from ops.backup import backup_list

    starts = []
    for backup in backup_list():
        try:
            starts.append(_sequence(json.loads(sidecar(backup).read_text())["binlog_file"]))
        except (OSError, ValueError, KeyError):
            continue
    return starts


def _archive_name(log_file: str, stamp: str) -> str:
    return f"cradle-binlog-{log_file}-{stamp}{SUFFIX}"


def log_file_of(name: str) -> str:
    # cradle-binlog-<file>-<stamp>.cbin -> <file>
    return name[len("cradle-binlog-") :].rsplit("-", 1)[0]


def _sequence(log_file: str) -> int:
    return int(log_file.rsplit(".", 1)[-1])


def archived(directory: Path | None = None) -> dict[str, Path]:
    """Archived binlogs in ``directory`` by binlog file name, in binlog order."""
    directory = Path(directory or settings.BINLOG_DIR)
    found = {log_file_of(path.name): path for path in directory.glob(f"cradle-binlog-*{SUFFIX}")}
    return dict(sorted(found.items(), key=lambda item: _sequence(item[0])))


def binlog_archive(*, directory: Path | None = None, using: str = "default", progress=print) -> list[Path]:
    """Close the current binary log and archive every closed one not archived yet."""
    from ops.backup import _last_line, _mysql_args, _which

    connection = connections[using]
    if not log_bin_enabled(using):
        raise BackupError("the database server writes no binary log (start it with --log-bin)")
    directory = Path(directory or settings.BINLOG_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    with connection.cursor() as cursor:
        cursor.execute("FLUSH BINARY LOGS")
        cursor.execute("SHOW BINARY LOGS")
        logs = [row[0] for row in cursor.fetchall()]
    closed = logs[:-1]  # the last one is still being written
    first = _first_needed(directory, closed)
    written = []
    for log_file in closed:
        if _sequence(log_file) < first:
            continue
        args, env = _mysql_args(_which("mariadb-binlog", "mysqlbinlog"), using=using, charset=False)
        with tempfile.TemporaryDirectory(dir=directory) as scratch:
            args += ["--read-from-remote-server", "--raw", f"--result-file={scratch}/", log_file]
            result = subprocess.run(args, env=env, capture_output=True)
            raw = Path(scratch) / log_file
            if result.returncode != 0 or not raw.is_file():
                raise BackupError(f"cannot fetch binlog {log_file}: {_last_line(result.stderr)}")
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            target = directory / _archive_name(log_file, stamp)
            partial = target.with_suffix(SUFFIX + ".partial")
            try:
                with open(raw, "rb") as source, open(partial, "wb") as out:
                    os.chmod(partial, 0o600)
                    header = {"vendor": "mysql-binlog", "created": stamp, "file": log_file}
                    digest = sealed.seal(iter(lambda: source.read(sealed.CHUNK_BYTES), b""), out, header=header)
                    out.flush()
                    os.fsync(out.fileno())
                partial.rename(target)
            finally:
                partial.unlink(missing_ok=True)
        target.with_name(target.name + ".sha256").write_text(f"{digest}  {target.name}\n")
        progress(f"archived {log_file} as {target.name}")
        written.append(target)
    for path in _upload_missing(directory):
        progress(f"copied off-site and checked: {path.name}")
    for old in _prune_local(directory):
        progress(f"removed old binlog archive {old.name}")
    return written


def _upload_missing(directory: Path) -> list[Path]:
    """Copy off-site every local archive the bucket lacks: not only this run's, so one failed
    upload (the bucket down for a while) is made good by the next run, not left as a gap
    that breaks every off-site point-in-time restore after it."""
    if offsite.target() is None:
        return []
    there = set(offsite.remote_names(offsite.BINLOGS))
    missing = [path for path in archived(directory).values() if path.name not in there]
    for path in missing:
        offsite.upload(path, kind=offsite.BINLOGS)
    return missing


def _prune_local(directory: Path) -> list[Path]:
    """Archives older than the binlog the oldest local backup starts from replay onto nothing."""
    starts = _backup_starts()
    if not starts:
        return []
    removed = [path for name, path in archived(directory).items() if _sequence(name) < min(starts)]
    for path in removed:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".sha256").unlink(missing_ok=True)
    return removed


def replay(
    *,
    start: tuple[str, int],
    until: datetime | None,
    source_database: str,
    database: str,
    directory: Path | None = None,
    using: str = "default",
    progress=print,
) -> int:
    """Replay the archived binlogs from ``start`` up to ``until`` into ``database``; return
    how many binlog files were read."""
    from ops.backup import _last_line, _mysql_args, _which

    start_file, start_pos = start
    source_db = source_database
    files = [path for name, path in archived(directory).items() if _sequence(name) >= _sequence(start_file)]
    if not files or log_file_of(files[0].name) != start_file:
        raise BackupError(f"the binlog {start_file} the backup starts from is not archived (run db_binlog_archive)")
    expected = _sequence(start_file)
    for path in files:
        if _sequence(log_file_of(path.name)) != expected:
            raise BackupError(f"binlog archive has a gap before {log_file_of(path.name)}")
        expected += 1
    with tempfile.TemporaryDirectory(dir=Path(directory or settings.BINLOG_DIR)) as scratch:
        plain = []
        for path in files:
            header = sealed.verify(path)
            if header.get("vendor") != "mysql-binlog":
                raise BackupError(f"{path.name} is not a binlog archive")
            out_path = Path(scratch) / log_file_of(path.name)
            with open(out_path, "wb") as out:
                for chunk in sealed.unseal(path):
                    out.write(chunk)
            plain.append(str(out_path))
        decode = [_which("mariadb-binlog", "mysqlbinlog"), f"--start-position={start_pos}", f"--database={source_db}"]
        if source_db != database:
            decode.append(f"--rewrite-db={source_db}->{database}")
        if until is not None:
            # mariadb-binlog reads the time in its own time zone: run it in UTC.
            decode.append(f"--stop-datetime={until.astimezone(UTC):%Y-%m-%d %H:%M:%S}")
        client, env = _mysql_args(_which("mariadb", "mysql"), using=using)
        client.append(database)
        with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as decode_errors:
            reader = subprocess.Popen(
                decode + plain, stdout=subprocess.PIPE, stderr=decode_errors, env={**os.environ, "TZ": "UTC"}
            )
            writer = subprocess.Popen(client, stdin=reader.stdout, stdout=subprocess.DEVNULL, stderr=errors, env=env)
            reader.stdout.close()
            if writer.wait() != 0:
                reader.kill()
                reader.wait()
                errors.seek(0)
                raise BackupError(f"binlog replay failed: {_last_line(errors.read())}")
            if reader.wait() != 0:
                decode_errors.seek(0)
                raise BackupError(f"cannot read the binlog archive: {_last_line(decode_errors.read())}")
    progress(f"replayed {len(files)} binlog file(s) from {start_file}:{start_pos}")
    connections[using].close()
    return len(files)
