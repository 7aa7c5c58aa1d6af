"""Off-site copies: backup -> upload -> delete local -> download -> restore is identical; a
damaged remote copy is refused; grandfather-father-son retention off-site."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from messaging.models import Message, MessageBody
from ops import offsite
from ops.backup import backup_create, backup_list
from ops.sealed import BackupError
from publishing.models import PublishingLog
from tests.analytics.factories import table_checksums
from tests.conftest import ROOT, subprocess_env
from tests.ops.s3 import s3_bucket, s3_client
from tests.ops.test_backup import _quiet, filled  # noqa: F401 - a fixture, shared

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bucket(settings, monkeypatch):
    return s3_bucket(settings, monkeypatch)


def _decrypted_sample() -> list[tuple]:
    return [(m.pk, m.title, m.body.content) for m in Message.objects.select_related("body").order_by("pk")]


def test_backup_upload_delete_download_restore_gives_identical_data(filled, bucket, settings):  # noqa: F811
    for index, message in enumerate(Message.objects.order_by("pk")):
        message.title = f"Título {index} ✓"
        message.save()
        MessageBody.objects.update_or_create(message=message, defaults={"content": f"secret text {index} 秘密"})
    before, sample = table_checksums(), _decrypted_sample()
    path = backup_create(progress=_quiet)
    key = f"site-a/backups/{path.name}"
    head = s3_client().head_object(Bucket=bucket, Key=key)
    assert head["Metadata"]["sha256"] == offsite.file_sha256(path)

    for local in settings.BACKUP_DIR.iterdir():
        local.unlink()
    call_command("flush", interactive=False, verbosity=0)
    assert PublishingLog.objects.count() == 0

    err = io.StringIO()
    call_command("db_restore", "--from-offsite", stdout=io.StringIO(), stderr=err)
    assert f"downloaded and checked {path.name}" in err.getvalue()
    after = table_checksums()
    # The restore is an operation of its own: one audit event, written after the data came back.
    assert after.pop("ops_auditevent")[0] == before.pop("ops_auditevent")[0] + 1
    assert after == before
    assert _decrypted_sample() == sample and sample[0][1] == "Título 0 ✓"


def test_a_tampered_remote_copy_is_refused(filled, bucket, settings, tmp_path):  # noqa: F811
    path = backup_create(progress=_quiet)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    # Whoever changed the bytes also wrote a matching sha256: the sealed file's HMAC still refuses it.
    s3_client().put_object(
        Bucket=bucket,
        Key=f"site-a/backups/{path.name}",
        Body=bytes(data),
        Metadata={"sha256": __import__("hashlib").sha256(bytes(data)).hexdigest()},
    )
    path.unlink()
    with pytest.raises(
        CommandError,
        match=r"^restore refused: off-site copy .* is refused: backup file is damaged or was tampered with",
    ):
        call_command("db_restore", "--from-offsite", "--force", stdout=io.StringIO(), stderr=io.StringIO())
    assert PublishingLog.objects.count() == 400
    assert not path.exists() and list(settings.BACKUP_DIR.glob("*.partial")) == []  # nothing left behind


def test_a_truncated_remote_copy_is_refused(filled, bucket, settings, tmp_path):  # noqa: F811
    path = backup_create(progress=_quiet)
    digest = offsite.file_sha256(path)
    s3_client().put_object(
        Bucket=bucket, Key=f"site-a/backups/{path.name}", Body=path.read_bytes()[:-500], Metadata={"sha256": digest}
    )
    with pytest.raises(BackupError, match="damaged or truncated"):
        offsite.download(path.name, tmp_path / "fetched")
    assert not (tmp_path / "fetched" / path.name).exists()
    with pytest.raises(CommandError, match="restore refused: off-site copy .* is damaged or truncated"):
        call_command("db_restore", "--from-offsite", "--force", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "tampered"])
def test_the_command_refuses_a_damaged_remote_copy_in_one_line(filled, bucket, settings, damage):  # noqa: F811
    """What an operator sees: ``manage.py db_restore --from-offsite`` exits non-zero with one line."""
    path = backup_create(progress=_quiet)
    data = path.read_bytes()
    if damage == "truncated":
        body, digest = data[:-500], offsite.file_sha256(path)  # the metadata says what was uploaded
    else:
        changed = bytearray(data)
        changed[len(changed) // 2] ^= 0x01
        body = bytes(changed)
        digest = __import__("hashlib").sha256(body).hexdigest()
    s3_client().put_object(Bucket=bucket, Key=f"site-a/backups/{path.name}", Body=body, Metadata={"sha256": digest})
    path.unlink()
    result = subprocess.run(
        [sys.executable, "manage.py", "db_restore", "--from-offsite", "--force"],
        cwd=ROOT,
        env=subprocess_env(
            BACKUP_DIR=str(settings.BACKUP_DIR),
            BACKUP_S3_URL=settings.BACKUP_S3_URL,
            BACKUP_S3_ENDPOINT_URL=settings.BACKUP_S3_ENDPOINT_URL,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    expected = "sha256 does not match" if damage == "truncated" else "damaged or was tampered with"
    assert len(lines) == 1 and lines[0].startswith("CommandError: restore refused: off-site copy"), lines
    assert expected in lines[0]
    assert not path.exists()
    assert PublishingLog.objects.count() == 400


@pytest.mark.one_database
def test_a_large_file_goes_up_in_parts_and_is_checked(bucket, tmp_path):
    big = tmp_path / "cradle-sqlite-20261201T030000000000Z.cbak"
    with open(big, "wb") as out:
        for index in range(20):
            out.write(bytes([index]) * (1024 * 1024))
    key = offsite.upload(big)
    etag = s3_client().head_object(Bucket=bucket, Key=key)["ETag"]
    assert etag.strip('"').endswith("-3")  # 20 MiB in 8 MiB parts: a multipart upload


@pytest.mark.one_database
def test_an_unreachable_bucket_fails_the_backup_in_one_line(bucket, settings, tmp_path):
    settings.BACKUP_S3_URL = "s3://no-such-bucket-here/x"
    path = tmp_path / "cradle-sqlite-20261201T030000000000Z.cbak"
    path.write_bytes(b"x")
    with pytest.raises(
        BackupError, match="^off-site copy to s3://no-such-bucket-here/x/backups/.* failed: .*NoSuchBucket"
    ):
        offsite.upload(path)


def _stamp(when: datetime) -> str:
    return f"cradle-mysql-{when:%Y%m%dT%H%M%S%f}Z.cbak"


@pytest.mark.one_database
def test_gfs_keeps_days_weeks_and_months():
    start = datetime(2026, 1, 1, 3, tzinfo=UTC)
    stamps = [start + timedelta(days=day, hours=hour) for day in range(400) for hour in (0, 12)]
    keep = offsite.gfs_keep(stamps, daily=14, weekly=8, monthly=12)
    newest = max(stamps)
    days = {stamp.date() for stamp in keep}
    assert all(newest.date() - timedelta(days=n) in days for n in range(14))
    assert len({stamp.isocalendar()[:2] for stamp in keep}) >= 8
    assert len({(stamp.year, stamp.month) for stamp in keep}) == 12
    assert len(keep) <= 14 + 8 + 12
    assert all(stamp.hour == 15 for stamp in keep)  # the newest of its day, always


@pytest.mark.one_database
def test_remote_retention_applies_gfs_and_drops_binlogs_nothing_can_replay(bucket, settings):
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY, settings.BACKUP_KEEP_MONTHLY = 3, 0, 0
    client = s3_client()
    start = datetime(2026, 11, 1, 3, tzinfo=UTC)
    names = [_stamp(start + timedelta(days=day)) for day in range(6)]
    for name in names:
        client.put_object(Bucket=bucket, Key=f"site-a/backups/{name}", Body=b"x")
    old_binlog = f"cradle-binlog-binlog.000001-{start:%Y%m%dT%H%M%S%f}Z.cbin"
    new_binlog = f"cradle-binlog-binlog.000009-{start + timedelta(days=5, hours=1):%Y%m%dT%H%M%S%f}Z.cbin"
    for name in (old_binlog, new_binlog):
        client.put_object(Bucket=bucket, Key=f"site-a/binlogs/{name}", Body=b"x")
    removed = offsite.remote_prune()
    assert offsite.remote_names() == names[3:]
    assert offsite.remote_names(offsite.BINLOGS) == [new_binlog]
    assert sorted(removed) == sorted(names[:3] + [old_binlog])


def test_the_backup_command_says_it_copied_off_site(filled, bucket, capsys):  # noqa: F811
    call_command("db_backup")
    err = capsys.readouterr().err
    assert "copied off-site and checked" in err
    assert offsite.remote_names() == [path.name for path in backup_list()]
