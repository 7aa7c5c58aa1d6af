"""An RSS or Atom feed: each entry, by guid, becomes one text post (title and link).

The feed is fetched with requests (a timeout, and the same HTTP doubles in tests) and
parsed by feedparser; entries already turned into tasks are skipped by their key.
"""

from __future__ import annotations

import feedparser
import requests
from django.conf import settings
from django.utils.translation import gettext as _

from publishing.sources.base import Item, SourceError


def fetch_items(source) -> list[Item]:
    url = source.path_or_identifier.strip()
    try:
        response = requests.get(url, timeout=settings.PUBLISHING_HTTP_TIMEOUT)
        response.raise_for_status()
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
        items.append(Item(key=f"rss:{guid}"[:500], text=text, media=None, extra={"link": link}))
    return items
