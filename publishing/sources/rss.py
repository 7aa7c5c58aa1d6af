"""An RSS or Atom feed: each entry, by guid, becomes one post (title and link).

An entry's first image or video (an RSS ``<enclosure>`` or a Media RSS ``<media:content>``)
becomes the post's media; the publisher downloads it when the post goes out
(``publishing.media``). The feed is fetched through ``cradle_site.outbound`` (the address
checked where the socket opens, a byte cap, a deadline over the whole read) and parsed by
feedparser; entries already turned into tasks are skipped by their key.
"""

from __future__ import annotations

import html
import logging

import feedparser
from django.conf import settings
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from cradle_site.outbound import OutboundError, open_url, read_capped
from cradle_site.outbound_errors import Kind
from publishing.sources.base import Item, SourceError

log = logging.getLogger(__name__)


def fetch_items(source) -> list[Item]:
    url = source.path_or_identifier.strip()
    try:
        # Streamed, at most PUBLISHING_FEED_MAX_BYTES, and over within PUBLISHING_FEED_READ_SECONDS
        # however slowly it comes: a 150 MB feed once took a worker from 82 MB to 979 MB.
        with open_url(
            url,
            timeout=settings.PUBLISHING_HTTP_TIMEOUT,
            deadline=settings.PUBLISHING_FEED_READ_SECONDS,
            ok_statuses=range(200, 300),
        ) as response:
            content = read_capped(response, max_bytes=settings.PUBLISHING_FEED_MAX_BYTES)
    except OutboundError as exc:
        raise SourceError(str(exc), kind=exc.kind) from None
    feed = feedparser.parse(content)  # bytes: feedparser fetches nothing itself
    if feed.bozo and not feed.entries:
        log.info("feed of source %s unreadable: %r", source.pk, feed.get("bozo_exception"))
        raise SourceError(_("The feed could not be read: it is not RSS or Atom."), kind=Kind.BAD_ANSWER)
    items = []
    for entry in feed.entries:
        guid = entry.get("id") or entry.get("guid") or entry.get("link")
        if not guid:
            continue
        title = (entry.get("title") or "").strip()
        link = (entry.get("link") or "").strip()
        text = f"{title} {link}".strip()
        summary = " ".join(html.unescape(strip_tags(entry.get("summary") or "")).split())
        values = {"title": title, "summary": summary, "link": link}
        items.append(Item(key=f"rss:{guid}"[:500], text=text, media=_media(entry), extra={"link": link}, values=values))
    return items


def _media(entry) -> dict | None:
    """The entry's first image or video as ``{"kind": "url", ...}``, or None."""
    candidates = [(e.get("href", ""), e.get("type", "")) for e in entry.get("enclosures", [])]
    candidates += [(m.get("url", ""), m.get("type", "") or m.get("medium", "")) for m in entry.get("media_content", [])]
    for url, kind in candidates:
        kind = kind.lower()
        if url.startswith(("https://", "http://")) and kind.startswith(("image", "video")):
            # A bare Media RSS "medium" (image/video) is no MIME type: the download's header says.
            return {"kind": "url", "url": url[:2000], "mime_type": kind if "/" in kind else ""}
    return None
