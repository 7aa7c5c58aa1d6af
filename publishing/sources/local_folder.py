"""A folder of images, GIFs and videos; each file's post text sits beside it.

``photo.jpg`` takes its text from ``photo.txt`` (the whole file) or ``photo.json``
(``{"text": ..., "alt_text": ...}``). A file without a caption posts with no text.
The folder, every file and every caption must resolve inside the owner's own folder
(``publishing.folders``), checked again at each scan: a media file that leads outside is
not an item, and a caption that does fails the scan with ``folders.OUTSIDE``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from django.utils.translation import gettext as _

from publishing import folders
from publishing.content import stream_hash
from publishing.sources.base import Item, SourceError, scan_tick

log = logging.getLogger(__name__)
MEDIA_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".mp4", ".mov", ".m4v"}
# A post is 280 characters; a bigger caption file is a mistake, not a reason to read it all.
CAPTION_MAX_BYTES = 64 * 1024


def _caption(owner_id: int, media: Path) -> tuple[str, str]:
    # lexists, not is_file: is_file follows a symlink, so it would tell a link to an
    # existing file outside from a link to nothing. The link itself is the user's own.
    json_path = media.with_suffix(".json")
    text_path = media.with_suffix(".txt")
    try:
        if os.path.lexists(json_path):
            raw = folders.read_text(owner_id, json_path, max_bytes=CAPTION_MAX_BYTES)
            try:
                data = json.loads(raw)
            except ValueError:
                raise SourceError(_("%(name)s is not valid JSON.") % {"name": json_path.name}) from None
            if not isinstance(data, dict):
                raise SourceError(_("%(name)s must hold a JSON object") % {"name": json_path.name})
            return str(data.get("text", "")).strip(), str(data.get("alt_text", "")).strip()
        if os.path.lexists(text_path):
            return folders.read_text(owner_id, text_path, max_bytes=CAPTION_MAX_BYTES).strip(), ""
    except folders.OutsideFolder:
        name = json_path.name if os.path.lexists(json_path) else text_path.name
        raise SourceError(f"{name}: {folders.OUTSIDE}") from None
    return "", ""


def fetch_items(source) -> list[Item]:
    owner_id = source.project.owner_id
    folder = folders.resolve(owner_id, source.path_or_identifier)
    if not folder.is_dir():
        raise SourceError(
            _("There is no folder %(path)s in your folder.") % {"path": folders.relative(owner_id, folder)}
        )
    items = []
    for media in sorted(folder.iterdir()):
        if media.suffix.lower() not in MEDIA_SUFFIXES:
            continue
        try:
            with folders.open_file(owner_id, media) as handle:
                media_hash = stream_hash(handle)
        except SourceError:  # a symlink leading out of the folder, a FIFO, a sub-folder
            log.info("source %s: skipped %s", source.pk, media.name)
            continue
        text, alt_text = _caption(owner_id, media)
        items.append(
            Item(
                key=str(media),
                text=text,
                alt_text=alt_text,
                media={"kind": "file", "path": str(media)},
                media_hash=media_hash,
            )
        )
        scan_tick(len(items))
    return items
