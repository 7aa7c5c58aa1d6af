"""A Bluesky link card: the title, description and image of the page a post links to.

Bluesky, unlike Mastodon, builds no preview of a link: the poster's client fetches the page
and writes an ``app.bsky.embed.external`` card into the record. Here the worker does it, for
a URL that is the owner's text, so the fetch must be safe against what the worker can reach
and against a page that is slow or huge:

- **SSRF**: both requests (the page and its image) go through ``cradle_site.outbound``'s
  session, which resolves the host once, refuses it where the socket opens when any of its
  addresses is private, loopback, link-local or the metadata service, and checks every
  redirect hop the same way (``OUTBOUND_ALLOW_PRIVATE`` lifts that for development only).
  The image URL comes from the page (``og:image``), so it is checked like any other.
- **Slow pages**: a short timeout per socket operation and a wall-clock deadline over each
  whole exchange (``outbound.open_url``), so a server dripping a byte a second ends at the
  deadline, not at the task's lease.
- **Big answers**: bodies are streamed and reading stops past a cap (``HTML_MAX_BYTES`` of
  HTML, ``IMAGE_MAX_BYTES``, Bluesky's blob limit, of image); a page must say it is HTML and
  an image must *be* a JPEG, PNG, WebP or GIF by its bytes (``filetype``), whatever it says.
- **Parsing** is the standard library's ``html.parser``: no scripts run, no entity expansion
  beyond HTML's own, no new dependency.

Every failure is a ``CardSkipped`` with a short reason for the log; the publisher then posts
without a card: a card is a nicety and never fails or delays a post past the deadlines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import filetype

from cradle_site import outbound
from cradle_site.outbound_errors import host_of

HTML_MAX_BYTES = 512 * 1024
IMAGE_MAX_BYTES = 1_000_000  # Bluesky's blob limit for a card's thumb
TIMEOUT_SECONDS = 5.0  # per socket operation
DEADLINE_SECONDS = 8.0  # over one whole exchange, reading included
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
TITLE_MAX = 300
DESCRIPTION_MAX = 1000
LINK_FEATURE = "app.bsky.richtext.facet#link"
HEADERS = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1", "User-Agent": "CradleLinkCard/1.0"}


class CardSkipped(Exception):
    """No card for this link; ``str(exc)`` is a short reason for the log (the host at most)."""


@dataclass(frozen=True)
class Card:
    uri: str
    title: str
    description: str
    image: bytes | None = None
    image_mime: str = ""


def first_link(facets) -> str:
    """The URI of the first link (by position in the text) among atproto's detected facets, or ""."""
    links = [
        (facet.index.byte_start, feature.uri)
        for facet in facets or ()
        for feature in facet.features
        if getattr(feature, "py_type", "") == LINK_FEATURE
    ]
    return min(links)[1] if links else ""


class _MetaParser(HTMLParser):
    """og:title / og:description / og:image (and twitter: / name=description), and <title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title_parts: list[str] = []
        self._in_title = False
        self._seen_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "meta":
            values = {k.lower(): (v or "") for k, v in attrs if k}
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and "content" in values:
                self.meta.setdefault(key, values["content"])
        elif tag == "title" and not self._seen_title:
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title" and self._in_title:
            self._in_title, self._seen_title = False, True

    def handle_data(self, data):
        if self._in_title:
            self.title_parts.append(data)


def _clean(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse_page(html: str, page_url: str) -> tuple[str, str, str]:
    """(title, description, absolute image URL or "") from a page's HTML."""
    parser = _MetaParser()
    parser.feed(html)
    parser.close()
    meta = parser.meta
    title = meta.get("og:title") or meta.get("twitter:title") or "".join(parser.title_parts)
    description = meta.get("og:description") or meta.get("twitter:description") or meta.get("description") or ""
    image = (meta.get("og:image") or meta.get("og:image:url") or meta.get("twitter:image") or "").strip()
    return _clean(title, TITLE_MAX), _clean(description, DESCRIPTION_MAX), urljoin(page_url, image) if image else ""


def _get(url: str, *, max_bytes: int, accept_html: bool):
    try:
        with outbound.open_url(url, timeout=TIMEOUT_SECONDS, deadline=DEADLINE_SECONDS, headers=HEADERS) as response:
            content_type = (response.headers.get("Content-Type") or "").lower()
            if accept_html and "html" not in content_type:
                raise CardSkipped(f"the page at {host_of(url)} is not HTML")
            body = outbound.read_capped(response, max_bytes=max_bytes)
            charset = re.search(r"charset=[\"']?([\w.:-]+)", content_type)
            return body, charset.group(1) if charset else "utf-8"
    except outbound.OutboundError as exc:
        raise CardSkipped(str(exc)) from exc


def fetch_card(url: str) -> Card:
    """The card of the page at ``url``; ``CardSkipped`` for any failure of the page or its image."""
    body, encoding = _get(url, max_bytes=HTML_MAX_BYTES, accept_html=True)
    try:
        html = body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        html = body.decode("utf-8", errors="replace")
    title, description, image_url = parse_page(html, url)
    if not title:
        raise CardSkipped(f"the page at {host_of(url)} has no title")
    if not image_url:
        return Card(uri=url, title=title, description=description)
    image, _encoding = _get(image_url, max_bytes=IMAGE_MAX_BYTES, accept_html=False)
    kind = filetype.guess(image)
    if kind is None or kind.mime not in IMAGE_TYPES:
        raise CardSkipped(f"the image at {host_of(image_url)} is not a JPEG, PNG, WebP or GIF")
    return Card(uri=url, title=title, description=description, image=image, image_mime=kind.mime)
