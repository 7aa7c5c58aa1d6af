"""What a task posts, and the fingerprints the duplicate check compares."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import BinaryIO

_SPACE = re.compile(r"\s+")
X_TEXT_LIMIT = 280
ALT_TEXT_LIMIT = 1000


def normalise_text(text: str) -> str:
    """Case, width and spacing do not make a post different (NFKC folds full-width forms)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().casefold()


def text_hash(text: str) -> str:
    normalised = normalise_text(text)
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest() if normalised else ""


def stream_hash(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()


def media_of(data: dict | None) -> list[tuple[dict, str]]:
    """A post's media, each with its alt text: the composer's ``media_items`` (up to four),
    or the single ``media`` with ``alt_text`` that sources and the task API write."""
    data = data or {}
    items = data.get("media_items")
    if items:
        return [(item, item.get("alt_text", "")) for item in items]
    media = data.get("media")
    return [(media, data.get("alt_text", ""))] if media else []
