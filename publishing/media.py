"""A post's media as an open file, whatever the source: a local file, a Drive file, a feed enclosure.

Remote media is streamed into a temporary file in chunks, never read whole into memory
(a video may be hundreds of megabytes), refused past ``PUBLISHING_MEDIA_MAX_BYTES``
both by its declared length and by what actually arrives, and cut off after
``PUBLISHING_MEDIA_READ_SECONDS`` however slowly it trickles (``cradle_site.outbound``). The file is gone when the
``with`` block ends.
"""

from __future__ import annotations

import mimetypes
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from cradle_site.outbound import OutboundError, UnsafeURL, iter_capped, open_url
from cradle_site.outbound_errors import Kind
from publishing import folders
from publishing.models import PublishingTask
from publishing.sources import SourceError, google_drive

CHUNK_BYTES = 1024 * 1024


class MediaError(Exception):
    """The media cannot be used (gone, too large, not an image or video). Not worth retrying.

    ``kind`` is an ``outbound_errors.Kind`` when a download failed, else "".
    """

    def __init__(self, message: str, *, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class MediaFile:
    name: str
    mime: str
    file: BinaryIO


def _mime(name: str, declared: str = "") -> str:
    declared = declared.split(";")[0].strip().lower()
    return declared or mimetypes.guess_type(name)[0] or "application/octet-stream"


def no_keep_alive() -> None:
    """The default ``keep_alive``: work that holds no lease has nothing to renew."""


@contextmanager
def open_media(
    task: PublishingTask, media: dict, keep_alive: Callable[[], None] = no_keep_alive
) -> Iterator[MediaFile]:
    """Yield the media of ``task`` described by ``media`` (its ``content_data["media"]``).

    ``keep_alive`` is called between downloaded chunks (``queue.LeaseKeeper``).
    """
    kind = media.get("kind")
    if kind == "file":
        # Checked again now, not only when queued: the folder may have changed since.
        try:
            file = folders.open_file(task.project.owner_id, media["path"])
        except SourceError as exc:
            raise MediaError(str(exc)) from None
        name = PurePosixPath(media["path"]).name
        with file:
            yield MediaFile(name, _mime(name), file)
    elif kind == "gdrive":
        if task.source is None:
            raise MediaError("The Drive source of this task is gone")
        name = media.get("name") or media["file_id"]
        with google_drive.download(task.source, media["file_id"]) as response, _spool(response, keep_alive) as file:
            yield MediaFile(name, _mime(name, media.get("mime_type", "")), file)
    elif kind == "url":
        with _fetch(media["url"]) as response, _spool(response, keep_alive) as file:
            name = PurePosixPath(unquote(urlsplit(response.url).path)).name or "media"
            yield MediaFile(name, _mime(name, media.get("mime_type") or response.headers.get("Content-Type", "")), file)
    else:
        raise MediaError(f"Unknown media kind {kind!r}")


@contextmanager
def _fetch(url: str) -> Iterator[requests.Response]:
    """The enclosure at ``url`` through the checked session; read within ``PUBLISHING_MEDIA_READ_SECONDS``."""
    try:
        with open_url(
            url, timeout=settings.PUBLISHING_HTTP_TIMEOUT, deadline=settings.PUBLISHING_MEDIA_READ_SECONDS
        ) as response:
            yield response
    except UnsafeURL as exc:
        raise MediaError(str(exc), kind=exc.kind) from None  # the address is refused: no retry can help
    except OutboundError as exc:
        if exc.status in (404, 410):
            raise MediaError(_("The media is gone: %(error)s") % {"error": exc}, kind=exc.kind) from None
        if exc.kind == Kind.TOO_LARGE:
            raise MediaError(str(exc), kind=exc.kind) from None
        raise SourceError(_("The media could not be fetched: %(error)s") % {"error": exc}, kind=exc.kind) from None


@contextmanager
def _spool(response: requests.Response, keep_alive: Callable[[], None]) -> Iterator[BinaryIO]:
    # iter_capped raises OutboundError (too large, cut off, past the deadline); the
    # ``_fetch``/``google_drive.download`` block around this one turns it into ours.
    with tempfile.TemporaryFile(prefix="cradle-media-") as file:
        for chunk in iter_capped(response, max_bytes=settings.PUBLISHING_MEDIA_MAX_BYTES, chunk_bytes=CHUNK_BYTES):
            keep_alive()
            file.write(chunk)
        file.seek(0)
        yield file
