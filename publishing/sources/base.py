"""What every source hands to a scan: a list of items, each with a key unique in the project.

A scan running as a job (``publishing.scan_runs``) sets a ``ScanContext``: the sources call
``scan_tick`` as they go, which reports how many items they have seen so far (the page shows
it) and stops a source that has run past the scan's deadline, so one slow or huge source
cannot hold a worker for ever.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _


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
    # What a text template may use (publishing.text_templates.FIELDS): title, summary, link, caption.
    values: dict = field(default_factory=dict)

    def content_data(self) -> dict:
        data = {"text": self.text, "alt_text": self.alt_text, "media": self.media}
        data.update(self.extra)
        return data


@dataclass
class ScanContext:
    deadline: float  # time.monotonic() after which the source stops
    report: Callable[[int], None] = lambda seen: None
    every_seconds: float = 1.0
    _last_report: float = 0.0

    def tick(self, seen: int) -> None:
        now = time.monotonic()
        if now > self.deadline:
            raise SourceError(_("The scan took too long and was stopped; it runs again later."))
        if now - self._last_report >= self.every_seconds:
            self._last_report = now
            self.report(seen)


current_scan: contextvars.ContextVar[ScanContext | None] = contextvars.ContextVar("current_scan", default=None)


def scan_tick(seen: int) -> None:
    """Called by the sources between items or pages: progress, and the deadline."""
    context = current_scan.get()
    if context is not None:
        context.tick(seen)
