"""Where attachment bytes live: Django's ``attachments`` storage, ``var/attachments`` by default.

Set ``MESSAGING_ATTACHMENT_S3_BUCKET`` (and the ``_ENDPOINT_URL``, ``_REGION``, ``_ACCESS_KEY``,
``_SECRET_KEY`` beside it) and the files go to an S3-compatible bucket through django-storages'
``S3Storage`` (boto3). The bytes are encrypted before they reach either (``attachment_crypto``).

Reading goes around ``S3Storage.open``: its file downloads the whole object into a
``SpooledTemporaryFile`` that by default never spills to disk, so a 100 MB attachment would be
100 MB of memory. ``open_stream`` reads the object's streaming body instead.
"""

from __future__ import annotations

from typing import BinaryIO

from django.core.files.storage import Storage, storages

STORAGE_ALIAS = "attachments"


def attachment_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def _is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket") and hasattr(storage, "connection")


def open_stream(name: str) -> BinaryIO:
    """The stored bytes as a stream read piece by piece (close it when done)."""
    storage = attachment_storage()
    if _is_s3(storage):
        return storage.bucket.Object(storage._normalize_name(name)).get()["Body"]
    return storage.open(name, "rb")


def save_stream(name: str, stream: BinaryIO) -> str:
    """Store ``stream`` (read in pieces, never whole) under ``name``; return the name it got."""
    from django.core.files import File

    return attachment_storage().save(name, File(stream, name=name))


def delete(name: str) -> None:
    attachment_storage().delete(name)
