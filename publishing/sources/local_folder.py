"""A folder of images, GIFs and videos; each file's post text sits beside it.

``photo.jpg`` takes its text from ``photo.txt`` (the whole file) or ``photo.json``
(``{"text": ..., "alt_text": ...}``). A file without a caption posts with no text.
The folder must be inside one of ``PUBLISHING_LOCAL_ROOTS``.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from publishing.content import file_hash
from publishing.sources.base import Item, SourceError

MEDIA_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".mp4", ".mov", ".m4v"}


def resolve_allowed(path: str) -> Path:
    """The resolved path if it lies under an allowed root; SourceError otherwise."""
    resolved = Path(path).expanduser().resolve()
    for root in settings.PUBLISHING_LOCAL_ROOTS:
        if resolved == root or root in resolved.parents:
            return resolved
    roots = ", ".join(str(root) for root in settings.PUBLISHING_LOCAL_ROOTS)
    raise SourceError(_("The folder must be inside one of: %(roots)s") % {"roots": roots})


def _caption(media: Path) -> tuple[str, str]:
    json_path = media.with_suffix(".json")
    if json_path.is_file():
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SourceError(_("%(name)s is not valid JSON: %(error)s") % {"name": json_path.name, "error": exc})
        if not isinstance(data, dict):
            raise SourceError(_("%(name)s must hold a JSON object") % {"name": json_path.name})
        return str(data.get("text", "")).strip(), str(data.get("alt_text", "")).strip()
    text_path = media.with_suffix(".txt")
    if text_path.is_file():
        return text_path.read_text(encoding="utf-8", errors="replace").strip(), ""
    return "", ""


def fetch_items(source) -> list[Item]:
    folder = resolve_allowed(source.path_or_identifier)
    if not folder.is_dir():
        raise SourceError(_("The folder %(path)s does not exist") % {"path": folder})
    items = []
    for media in sorted(folder.iterdir()):
        if not media.is_file() or media.suffix.lower() not in MEDIA_SUFFIXES:
            continue
        text, alt_text = _caption(media)
        items.append(
            Item(
                key=str(media),
                text=text,
                alt_text=alt_text,
                media={"kind": "file", "path": str(media)},
                media_hash=file_hash(media),
            )
        )
    return items
