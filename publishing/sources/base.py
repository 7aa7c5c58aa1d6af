"""What every source hands to a scan: a list of items, each with a key unique in the project."""

from __future__ import annotations

from dataclasses import dataclass, field


class SourceError(Exception):
    """The source cannot be read (missing folder, bad feed, Drive refused). Shown to the user.

    ``kind`` is an ``outbound_errors.Kind`` when the reading was an HTTP request, else "".
    """

    def __init__(self, message: str, *, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Item:
    key: str  # becomes PublishingTask.media_path
    text: str = ""
    alt_text: str = ""
    media: dict | None = None  # {"kind": "file", "path": ...} or {"kind": "gdrive", "file_id": ...}
    media_hash: str = ""
    extra: dict = field(default_factory=dict)

    def content_data(self) -> dict:
        data = {"text": self.text, "alt_text": self.alt_text, "media": self.media}
        data.update(self.extra)
        return data
