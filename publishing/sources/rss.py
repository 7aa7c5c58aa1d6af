"""An RSS or Atom feed: each entry, by guid, becomes one post (title and link).

An entry's first image or video (an RSS ``<enclosure>`` or a Media RSS ``<media:content>``)
becomes the post's media; the publisher downloads it when the post goes out
(``publishing.media``). The feed is fetched with requests (a timeout, and the same HTTP
doubles in tests) and parsed by feedparser; entries already turned into tasks are skipped
by their key.
"""

from __future__ import annotations

import feedparser
import requests
from django.conf import settings
from django.utils.translation import gettext as _

from cradle_site.outbound import UnsafeURL, public_get
from publishing.sources.base import Item, SourceError


def fetch_items(source) -> list[Item]:
    url = source.path_or_identifier.strip()
    try:
        response = public_get(url, timeout=settings.PUBLISHING_HTTP_TIMEOUT)
        response.raise_for_status()
    except UnsafeURL as exc:
        raise SourceError(str(exc)) from None
    except requests.RequestException as exc:
        raise SourceError(_("The feed could not be fetched: %(error)s") % {"error": exc}) from None
    feed = feedparser.parse(response.content)
    if feed.bozo and not feed.entries:
        raise SourceError(_("The feed could not be read: %(error)s") % {"error": feed.get("bozo_exception")})
    items = []
    for entry in feed.entries:
        guid = entry.get("id") or entry.get("guid") or entry.get("link")
        if not guid:
            continue
        title = (entry.get("title") or "").strip()
        link = (entry.get("link") or "").strip()
        text = f"{title} {link}".strip()
        items.append(Item(key=f"rss:{guid}"[:500], text=text, media=_media(entry), extra={"link": link}))
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
