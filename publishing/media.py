"""A post's media as an open file, whatever the source: a local file, a Drive file, a feed enclosure.

Remote media is streamed into a temporary file in chunks, never read whole into memory
(a video may be hundreds of megabytes), and refused past ``PUBLISHING_MEDIA_MAX_BYTES``
both by its declared length and by what actually arrives. The file is gone when the
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

from cradle_site.outbound import UnsafeURL, public_get
from publishing import folders
from publishing.models import PublishingTask
from publishing.sources import SourceError, google_drive

CHUNK_BYTES = 1024 * 1024


class MediaError(Exception):
    """The media cannot be used (gone, too large, not an image or video). Not worth retrying."""


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


def _fetch(url: str) -> requests.Response:
    try:
        response = public_get(url, stream=True, timeout=settings.PUBLISHING_HTTP_TIMEOUT)
    except UnsafeURL as exc:
        raise MediaError(f"{url[:200]}: {exc}") from None
    except requests.RequestException as exc:
        raise SourceError(f"The media could not be fetched: {exc}") from None
    if response.status_code in (404, 410):
        response.close()
        raise MediaError(f"The media is gone ({response.status_code}): {url[:200]}")
    if response.status_code != 200:
        response.close()
        raise SourceError(f"The media could not be fetched: HTTP {response.status_code}")
    return response


@contextmanager
def _spool(response: requests.Response, keep_alive: Callable[[], None]) -> Iterator[BinaryIO]:
    limit = settings.PUBLISHING_MEDIA_MAX_BYTES
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise MediaError(f"The media is {int(declared):,} bytes, more than the {limit:,} bytes allowed")
    with tempfile.TemporaryFile(prefix="cradle-media-") as file:
        size = 0
        try:
            for chunk in response.iter_content(CHUNK_BYTES):
                keep_alive()
                size += len(chunk)
                if size > limit:
                    raise MediaError(f"The media is more than the {limit:,} bytes allowed")
                file.write(chunk)
        except requests.RequestException as exc:
            raise SourceError(f"The media download broke off: {exc}") from None
        file.seek(0)
        yield file
