"""Point-in-time recovery on MariaDB: backup, 1,000 rows, a moment, 1,000 more; restore --until
the moment gives exactly the first 1,000."""

from __future__ import annotations

import io
import json
import math
import os
import time
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ops import binlog
from ops.backup import backup_create
from publishing.models import PublishingLog
from tests.analytics.factories import NOW, LogStatus, make_project, make_tasks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mariadb_only, pytest.mark.slow]


@pytest.fixture
def binlog_server(db, settings, tmp_path):
    if not binlog.log_bin_enabled():
        if os.environ.get("CRADLE_REQUIRE_BINLOG") == "1":
            pytest.fail("CRADLE_REQUIRE_BINLOG=1 but the database server writes no binary log (bin/services: 3307)")
        pytest.skip("the MariaDB server writes no binary log: run with DATABASE_URL=mysql://root@127.0.0.1:3307/...")
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BINLOG_DIR = tmp_path / "binlogs"
    return settings


def _write_logs(task, count: int) -> list[int]:
    rows = [
        PublishingLog(task=task, project_id=task.project_id, status=LogStatus.SUCCESS, published_at=NOW)
        for _ in range(count)
    ]
    PublishingLog.objects.bulk_create(rows, batch_size=250)
    return list(PublishingLog.objects.order_by("-pk").values_list("pk", flat=True)[:count])


def test_restore_until_a_moment_gives_exactly_the_rows_written_before_it(binlog_server, owner):
    task = make_tasks(make_project(owner), 1)[0]
    path = backup_create(progress=lambda line: None)
    first = _write_logs(task, 1000)
    # mariadb-binlog stops at whole seconds: the moment is the next second, the rest come after it.
    moment = math.floor(time.time()) + 1
    time.sleep(max(0.0, moment + 0.3 - time.time()))
    _write_logs(task, 1000)
    assert PublishingLog.objects.count() == 2000
    out = io.StringIO()
    call_command("db_binlog_archive", stdout=out, stderr=io.StringIO())
    assert "Archived" in out.getvalue()
    assert all(path.read_bytes()[:8] == b"CRADLBK1" for path in binlog.archived().values())

    until = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")
    err = io.StringIO()
    call_command("db_restore", str(path), "--force", "--until", until, stdout=io.StringIO(), stderr=err)
    assert "replayed" in err.getvalue()
    assert sorted(PublishingLog.objects.values_list("pk", flat=True)) == sorted(first)


def test_restore_until_refuses_a_missing_archive(binlog_server, owner):
    path = backup_create(progress=lambda line: None)
    with pytest.raises(CommandError, match="restore refused: the binlog .* is not archived"):
        call_command("db_restore", str(path), "--force", "--until", "2026-12-01 10:42:00", stderr=io.StringIO())


def test_the_archive_skips_what_it_archived_before(binlog_server, owner):
    call_command("db_binlog_archive", stdout=io.StringIO(), stderr=io.StringIO())
    before = binlog.archived()
    out = io.StringIO()
    call_command("db_binlog_archive", stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip() == "Archived 1 binlog file(s)."  # only the one just closed
    assert set(before) < set(binlog.archived())


def test_old_archives_go_with_the_backups_that_needed_them(binlog_server, owner):
    backup_create(keep=1, progress=lambda line: None)
    call_command("db_binlog_archive", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("db_binlog_archive", stdout=io.StringIO(), stderr=io.StringIO())
    assert len(binlog.archived()) == 2
    newest = backup_create(keep=1, progress=lambda line: None)  # the first backup is rotated out
    start = json.loads(binlog.sidecar(newest).read_text())["binlog_file"]
    call_command("db_binlog_archive", stdout=io.StringIO(), stderr=io.StringIO())
    assert list(binlog.archived())[0] == start


def test_the_machine_is_lost_restore_from_off_site_until_a_moment(binlog_server, owner, monkeypatch):
    """Backup and binlogs off-site only (one binlog upload failed on the way and was made good
    by the next archive run): db_restore --from-offsite --until gives exactly the first rows."""
    import shutil

    from ops import offsite
    from ops.sealed import BackupError
    from tests.ops.s3 import s3_bucket

    s3_bucket(binlog_server, monkeypatch)
    real_url = binlog_server.BACKUP_S3_URL
    task = make_tasks(make_project(owner), 1)[0]
    backup_create(progress=lambda line: None)
    first = _write_logs(task, 300)
    binlog_server.BACKUP_S3_URL = "s3://no-such-bucket-here/x"  # the bucket is away for a while
    with pytest.raises(BackupError, match="s3://no-such-bucket-here/x/binlogs/.*NoSuchBucket"):
        binlog.binlog_archive(progress=lambda line: None)
    binlog_server.BACKUP_S3_URL = real_url
    first += _write_logs(task, 300)
    moment = math.floor(time.time()) + 1
    time.sleep(max(0.0, moment + 0.3 - time.time()))
    _write_logs(task, 300)
    binlog.binlog_archive(progress=lambda line: None)
    assert [path.name for path in binlog.archived().values()] == offsite.remote_names(offsite.BINLOGS)

    shutil.rmtree(binlog_server.BACKUP_DIR)  # the disk is gone (BINLOG_DIR is inside it)
    shutil.rmtree(binlog_server.BINLOG_DIR, ignore_errors=True)
    until = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")
    err = io.StringIO()
    call_command("db_restore", "--from-offsite", "--force", "--until", until, stdout=io.StringIO(), stderr=err)
    assert "downloaded and checked" in err.getvalue() and "replayed" in err.getvalue()
    assert sorted(PublishingLog.objects.values_list("pk", flat=True)) == sorted(first)
