"""Media the composer takes: uploaded into the owner's own folder, typed by its bytes.

An upload is saved as ``<first root>/<user id>/composer/<random>.<ext>`` (``publishing.folders``:
the same per-user folder every local source and task file lives in, so the publisher opens
it the one checked way, ``folders.open_file``). The type comes from the file's first bytes,
never from its name or the browser's Content-Type, and X's own limits apply per kind:
images 5 MB, a GIF 15 MB, a video 512 MB (and never more than PUBLISHING_MEDIA_MAX_BYTES).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from publishing import folders
from publishing.sources import SourceError

UPLOAD_FOLDER = "composer"
MB = 1024 * 1024


@dataclass(frozen=True)
class Kind:
    name: str  # image, gif, video
    suffix: str
    max_bytes: int


IMAGE_PNG = Kind("image", ".png", 5 * MB)
IMAGE_JPEG = Kind("image", ".jpg", 5 * MB)
IMAGE_WEBP = Kind("image", ".webp", 5 * MB)
GIF = Kind("gif", ".gif", 15 * MB)
VIDEO = Kind("video", ".mp4", 512 * MB)


def sniff(head: bytes) -> Kind | None:
    """The media kind the first bytes of a file say it is, or None (not an image, GIF or video)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return IMAGE_PNG
    if head.startswith(b"\xff\xd8\xff"):
        return IMAGE_JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return IMAGE_WEBP
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[4:8] == b"ftyp":  # ISO base media: MP4, MOV, M4V
        return VIDEO
    return None


def _limit(kind: Kind) -> int:
    return min(kind.max_bytes, settings.PUBLISHING_MEDIA_MAX_BYTES)


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


def media_save(*, owner_id: int, upload: BinaryIO, size: int, field: str = "file") -> tuple[str, Kind]:
    """Save an uploaded file in the owner's folder; return its path (as the owner sees it) and kind."""
    head = upload.read(16)
    kind = sniff(head)
    if kind is None:
        raise _refuse(field, _("Only PNG, JPEG or WebP images, GIFs and MP4 or MOV videos can be posted."))
    if size > _limit(kind):
        raise _refuse(field, _("This file is too large for X: at most %(mb)s MB.") % {"mb": _limit(kind) // MB})
    home = folders.folders_of(owner_id)
    if not home:
        raise _refuse(field, _("There is no folder to save media in; ask the operator."))
    target_dir = home[0] / UPLOAD_FOLDER
    target_dir.mkdir(mode=0o750, exist_ok=True)
    target = target_dir / f"{uuid.uuid4().hex}{kind.suffix}"
    # O_EXCL: a fresh name, never an existing file or a symlink planted under it.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640)
    written = 0
    with os.fdopen(fd, "wb") as out:
        out.write(head)
        written += len(head)
        for chunk in iter(lambda: upload.read(MB), b""):
            written += len(chunk)
            if written > _limit(kind):
                break
            out.write(chunk)
    if written > _limit(kind):  # the declared size lied
        target.unlink(missing_ok=True)
        raise _refuse(field, _("This file is too large for X: at most %(mb)s MB.") % {"mb": _limit(kind) // MB})
    return folders.relative(owner_id, target), kind


def media_check(*, owner_id: int, path: str, field: str) -> tuple[Path, Kind]:
    """A media file named by its path in the owner's folder: resolved, and typed by its bytes."""
    try:
        real = folders.resolve(owner_id, path)
        with folders.open_file(owner_id, real) as handle:
            kind = sniff(handle.read(16))
            size = os.fstat(handle.fileno()).st_size
    except folders.OutsideFolder as exc:
        raise _refuse(field, str(exc)) from None
    except SourceError:
        raise _refuse(field, _("No image, GIF or video at this path.")) from None
    if kind is None:
        raise _refuse(field, _("Only PNG, JPEG or WebP images, GIFs and MP4 or MOV videos can be posted."))
    if size > _limit(kind):
        raise _refuse(field, _("This file is too large for X: at most %(mb)s MB.") % {"mb": _limit(kind) // MB})
    return real, kind
