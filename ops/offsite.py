"""Off-site copies of backups and binlog archives in an S3-compatible bucket (``BACKUP_S3_URL``).

S3 through boto3 rather than rclone: every cloud and most self-hosted stores (MinIO, Ceph,
Backblaze B2, Wasabi, Cloudflare R2, OVH, Aliyun OSS's S3 mode) speak the S3 API, boto3 is a
pinned Python dependency tested here against a real S3 server (moto), and an upload can be
checked from Python. rclone would add a Go binary outside the virtualenv for the few stores
with no S3 API; an operator who needs one can mirror BACKUP_DIR with it.

An upload streams the file in parts (``upload_fileobj`` with a ``TransferConfig``: never the
whole file in memory), stores its sha256 in the object's metadata, and then reads the object
back, streaming, to check that sha256: a copy that did not land whole is an error at backup
time, not at restore time. A download is checked the same way, and then by the sealed file's
own HMAC (``ops.sealed.verify``), before it is moved into place: a truncated or tampered copy
is refused and never left behind.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from ops import sealed
from ops.sealed import BackupError

PART_BYTES = 8 * 1024 * 1024
READ_BYTES = 1024 * 1024
BACKUPS = "backups"
BINLOGS = "binlogs"


@dataclass(frozen=True)
class Target:
    bucket: str
    prefix: str  # "" or ends with "/"

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}/{name}"


def target() -> Target | None:
    """The configured bucket and prefix, or None when off-site copies are off."""
    url = settings.BACKUP_S3_URL
    if not url:
        return None
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        raise BackupError(f"BACKUP_S3_URL must look like s3://bucket/prefix, got {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    prefix = prefix.strip("/")
    return Target(bucket, prefix + "/" if prefix else "")


def _client():
    import boto3
    from botocore.config import Config

    # Credentials and region come from the environment (AWS_ACCESS_KEY_ID, ...), as boto3 reads them.
    return boto3.client(
        "s3",
        endpoint_url=settings.BACKUP_S3_ENDPOINT_URL or None,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60),
    )


def _errors():
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _remote_sha256(client, where: Target, key: str) -> tuple[str, str]:
    """(sha256 in the metadata, sha256 of the bytes read back), streamed."""
    response = client.get_object(Bucket=where.bucket, Key=key)
    digest = hashlib.sha256()
    for chunk in response["Body"].iter_chunks(READ_BYTES):
        digest.update(chunk)
    return response.get("Metadata", {}).get("sha256", ""), digest.hexdigest()


def upload(path: Path, *, kind: str = BACKUPS) -> str | None:
    """Copy ``path`` off-site and check the copy; return its key (None when not configured)."""
    where = target()
    if where is None:
        return None
    from boto3.s3.transfer import TransferConfig

    client = _client()
    key = where.key(kind, Path(path).name)
    digest = file_sha256(path)
    config = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, max_concurrency=2)
    try:
        with open(path, "rb") as stream:
            client.upload_fileobj(stream, where.bucket, key, ExtraArgs={"Metadata": {"sha256": digest}}, Config=config)
        recorded, actual = _remote_sha256(client, where, key)
    except _errors() as exc:
        raise BackupError(f"off-site copy to s3://{where.bucket}/{key} failed: {exc}") from exc
    if recorded != digest or actual != digest:
        raise BackupError(f"off-site copy s3://{where.bucket}/{key} does not match the local file (checksum)")
    return key


def remote_names(kind: str = BACKUPS) -> list[str]:
    """Names (without the prefix) of the off-site copies of one kind, sorted (oldest first)."""
    where = target()
    if where is None:
        return []
    client = _client()
    names = []
    base = where.key(kind, "")
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=base):
            names += [item["Key"][len(base) :] for item in page.get("Contents", [])]
    except _errors() as exc:
        raise BackupError(f"cannot list s3://{where.bucket}/{base}: {exc}") from exc
    return sorted(names)


def download(name: str, directory: Path, *, kind: str = BACKUPS) -> Path:
    """Fetch one off-site copy into ``directory``, refusing it unless its sha256 holds."""
    where = target()
    if where is None:
        raise BackupError("BACKUP_S3_URL is not set; there are no off-site copies")
    client = _client()
    key = where.key(kind, name)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    partial = directory / (name + ".partial")
    digest = hashlib.sha256()
    try:
        response = client.get_object(Bucket=where.bucket, Key=key)
        with open(partial, "wb") as out:
            os.chmod(partial, 0o600)
            for chunk in response["Body"].iter_chunks(READ_BYTES):
                digest.update(chunk)
                out.write(chunk)
        recorded = response.get("Metadata", {}).get("sha256", "")
        if not recorded or recorded != digest.hexdigest():
            raise BackupError(f"off-site copy {name} is damaged or truncated (its sha256 does not match)")
        try:
            # Whoever can write to the bucket can also write a matching sha256: the file's own
            # HMAC decides, before the copy lands in BACKUP_DIR as "the newest backup".
            sealed.verify(partial)
        except BackupError as exc:
            raise BackupError(f"off-site copy {name} is refused: {exc}") from None
        partial.rename(final)
    except _errors() as exc:
        raise BackupError(f"cannot download s3://{where.bucket}/{key}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return final


def delete(names: list[str], *, kind: str = BACKUPS) -> None:
    where = target()
    if where is None or not names:
        return
    client = _client()
    for start in range(0, len(names), 1000):
        batch = [{"Key": where.key(kind, name)} for name in names[start : start + 1000]]
        try:
            client.delete_objects(Bucket=where.bucket, Delete={"Objects": batch, "Quiet": True})
        except _errors() as exc:
            raise BackupError(f"cannot delete old off-site copies: {exc}") from exc


def stamp_of(name: str) -> datetime | None:
    """The time in a backup's name (``cradle-mysql-20261201T030000123456Z.cbak``)."""
    try:
        raw = name.rsplit("-", 1)[1].split(".", 1)[0]
        return datetime.strptime(raw, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except (IndexError, ValueError):
        return None


def gfs_keep(stamps: list[datetime], *, daily: int, weekly: int, monthly: int) -> set[datetime]:
    """Grandfather-father-son: the newest backup of each of the last ``daily`` days that have
    one, of the last ``weekly`` ISO weeks and of the last ``monthly`` months."""
    keep: set[datetime] = set()
    for count, period in (
        (daily, lambda t: t.date()),
        (weekly, lambda t: t.isocalendar()[:2]),
        (monthly, lambda t: (t.year, t.month)),
    ):
        newest: dict = {}
        for stamp in sorted(stamps, reverse=True):
            newest.setdefault(period(stamp), stamp)
        keep.update(sorted(newest.values(), reverse=True)[:count])
    return keep


def remote_prune() -> list[str]:
    """Apply the GFS rule to the off-site backups, and drop binlog archives older than the
    oldest backup kept (nothing can replay them); return the names removed."""
    names = [name for name in remote_names(BACKUPS) if name.endswith(".cbak")]
    stamped = {name: stamp_of(name) for name in names}
    stamps = [stamp for stamp in stamped.values() if stamp]
    keep = gfs_keep(
        stamps,
        daily=settings.BACKUP_KEEP_DAILY,
        weekly=settings.BACKUP_KEEP_WEEKLY,
        monthly=settings.BACKUP_KEEP_MONTHLY,
    )
    removed = [name for name, stamp in stamped.items() if stamp and stamp not in keep]
    delete(removed, kind=BACKUPS)
    if keep:
        oldest = min(keep)
        old_binlogs = [name for name in remote_names(BINLOGS) if (stamp := stamp_of(name)) and stamp < oldest]
        delete(old_binlogs, kind=BINLOGS)
        removed += old_binlogs
    return removed
