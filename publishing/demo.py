"""Demo data: a project whose local folder holds a few generated images, scanned once."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from django.conf import settings

from publishing.models import ContentSource, Project
from publishing.scan import source_scan

CAPTIONS = [
    ("sunrise", "Morning over the harbour.", "An orange square standing in for a sunrise"),
    ("forest", "A walk in the forest 🌲", "A green square standing in for a forest"),
    ("sea", "今天的海很平静。", "A blue square standing in for the sea"),
]
COLOURS = {"sunrise": (240, 140, 40), "forest": (40, 140, 60), "sea": (40, 90, 200)}


def _png(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * size
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def create_demo(user) -> Project:
    # The user's own folder under the demo root: local sources read nothing else (publishing.folders).
    folder = Path(settings.VAR_DIR) / "demo_media" / str(user.pk)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text, alt in CAPTIONS:
        (folder / f"{name}.png").write_bytes(_png(COLOURS[name]))
        (folder / f"{name}.json").write_text(json.dumps({"text": text, "alt_text": alt}, ensure_ascii=False))
    project, _ = Project.objects.get_or_create(
        owner=user,
        name="Demo photos",
        defaults={
            "description": "Three generated images, posted as a dry run.",
            "slot_times": ["Mon-Fri 09:00", "Mon-Fri 17:00", "Sat 11:00"],
        },
    )
    source, _ = ContentSource.objects.get_or_create(
        project=project, source_type=ContentSource.SourceType.LOCAL_FOLDER, path_or_identifier=str(folder.resolve())
    )
    source_scan(source=source)  # idempotent: a second run creates nothing
    return project
