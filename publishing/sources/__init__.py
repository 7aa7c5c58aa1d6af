"""Content sources: one small module per kind, each with ``fetch_items(source)``."""

from __future__ import annotations

from publishing.sources import google_drive, local_folder, rss
from publishing.sources.base import Item, SourceError

FETCHERS = {
    "local_folder": local_folder.fetch_items,
    "rss_feed": rss.fetch_items,
    "google_drive": google_drive.fetch_items,
}


def fetch_items(source) -> list[Item]:
    return FETCHERS[source.source_type](source)


__all__ = ["Item", "SourceError", "fetch_items"]
