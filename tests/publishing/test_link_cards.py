"""Issue 19's Bluesky link cards: the real atproto client against the PDS double, a local page
server with OG tags and a PNG, and the real outbound session (SSRF rule, deadline, byte caps)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from publishing import accounts, composer, link_cards
from publishing.models import PublishingTask
from publishing.runner import publish_due
from tests.clock import NOW

from .conftest import png_bytes
from .netdoubles import BlueskyDouble

Status = PublishingTask.Status

OG_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>The fallback title</title>
<meta property="og:title" content="Cats &amp; naps">
<meta property="og:description" content="Why cats sleep  16 hours a day">
<meta property="og:image" content="/cat.png">
</head><body><p>Hello</p></body></html>"""

TITLE_PAGE = "<html><head><title>  Only a\n title  </title></head><body>no og here</body></html>"


class PageServer:
    """A tiny local web server: path -> (status, content type, body, delay seconds); every hit kept."""

    def __init__(self, routes: dict[str, tuple[int, str, bytes, float]]):
        self.routes = routes
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - the http.server API
                server.hits.append(self.path)
                status, content_type, body, delay = server.routes.get(self.path, (404, "text/plain", b"no", 0.0))
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if self.path.startswith("/stream"):  # no length: the body ends when the socket closes
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def html(text: str, status: int = 200, delay: float = 0.0):
    return (status, "text/html; charset=utf-8", text.encode(), delay)


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def sky(x_project, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the doubles listen on 127.0.0.1
    with BlueskyDouble() as bluesky:
        settings.PUBLISHING_BLUESKY_PDS_URL = bluesky.url
        account = accounts.account_connect_bluesky(
            project=x_project, handle="alice.bsky.social", app_password="app-pass-1234"
        )
        yield bluesky, account


@pytest.fixture
def pages():
    routes = {
        "/og": html(OG_PAGE),
        "/cat.png": (200, "image/png", png_bytes(5), 0.0),
        "/title": html(TITLE_PAGE),
        "/broken": html("<title>Oops</title>", status=500),
        "/slow": html("<title>Late</title>", delay=3.0),
        "/big": html("<title>Big</title>" + "x" * (link_cards.HTML_MAX_BYTES + 1)),
        "/fake-image": html('<title>Fake</title><meta property="og:image" content="/not-an-image">'),
        "/not-an-image": (200, "image/png", b"<html><body>I am HTML</body></html>", 0.0),
        "/json": (200, "application/json", b"<title>JSON, not HTML</title>", 0.0),
        "/stream-big": html("<title>Endless</title>" + "x" * (link_cards.HTML_MAX_BYTES + 1)),
        "/big-image": html('<title>Huge</title><meta property="og:image" content="/huge.png">'),
        "/huge.png": (200, "image/png", png_bytes(1) + b"\0" * link_cards.IMAGE_MAX_BYTES, 0.0),
    }
    with PageServer(routes) as server:
        yield server


def _publish(account, posts):
    head = composer.post_create(
        project=account.project, posts=[composer.PostIn(**p) for p in posts], accounts=[account], to_x=False
    )
    PublishingTask.objects.filter(pk=head.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    publish_due(run_seconds=10)
    head.refresh_from_db()
    return head


def _records(bluesky):
    return [json.loads(r["body"])["record"] for r in bluesky.calls("/xrpc/com.atproto.repo.createRecord")]


def test_a_link_gets_an_external_card_with_the_og_tags_and_the_uploaded_thumb(sky, pages):
    bluesky, account = sky
    url = f"{pages.url}/og"
    task = _publish(account, [{"text": f"Read this {url} and #cats"}])

    assert task.status == Status.SUCCESS, task.last_error
    (record,) = _records(bluesky)
    embed = record["embed"]
    assert embed["$type"] == "app.bsky.embed.external"
    external = embed["external"]
    assert (external["uri"], external["title"], external["description"]) == (
        url,
        "Cats & naps",
        "Why cats sleep 16 hours a day",
    )
    thumb = external["thumb"]
    assert thumb["$type"] == "blob" and thumb["mimeType"] == "image/png" and thumb["size"] == len(png_bytes(5))
    (upload,) = bluesky.calls("/xrpc/com.atproto.repo.uploadBlob")
    assert upload["body"] == png_bytes(5)
    assert thumb["ref"]["$link"] in bluesky.blobs  # the ref of the blob that was uploaded
    link = next(f for f in record["facets"] if f["features"][0]["$type"] == "app.bsky.richtext.facet#link")
    assert link["features"][0]["uri"] == url  # the card's link is the facet's
    assert pages.hits == ["/og", "/cat.png"]


def test_the_first_link_in_the_text_is_the_card_and_a_page_without_og_tags_uses_its_title(sky, pages):
    bluesky, account = sky
    task = _publish(account, [{"text": f"First {pages.url}/title then {pages.url}/og"}])

    assert task.status == Status.SUCCESS, task.last_error
    (record,) = _records(bluesky)
    external = record["embed"]["external"]
    assert (external["uri"], external["title"], external["description"]) == (f"{pages.url}/title", "Only a title", "")
    assert "thumb" not in external and not bluesky.calls("/xrpc/com.atproto.repo.uploadBlob")
    assert pages.hits == ["/title"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/slow", "timeout"),
        ("/broken", "answered HTTP 500"),
        ("/big", "more than the 524,288 bytes"),  # declared by its Content-Length
        ("/stream-big", "more than the 524,288 bytes"),  # no length: the streamed read stops at the cap
        ("/big-image", "more than the 1,000,000 bytes"),
        ("/fake-image", "is not a JPEG, PNG, WebP or GIF"),  # HTML served as image/png
        ("/json", "is not HTML"),
        ("/missing", "answered HTTP 404"),
    ],
)
def test_a_page_that_fails_gives_a_post_without_a_card_published_once(sky, pages, path, reason, monkeypatch, caplog):
    monkeypatch.setattr(link_cards, "DEADLINE_SECONDS", 1.0)
    monkeypatch.setattr(link_cards, "TIMEOUT_SECONDS", 1.0)
    bluesky, account = sky
    caplog.set_level("INFO", logger="publishing.network_publishers")
    started = time.monotonic()

    task = _publish(account, [{"text": f"Look {pages.url}{path}"}])

    assert time.monotonic() - started < 10
    assert task.status == Status.SUCCESS, task.last_error
    assert task.retry_count == 0
    (record,) = _records(bluesky)
    assert record.get("embed") is None
    assert [c.text for c in bluesky.creations] == [f"Look {pages.url}{path}"]
    assert not bluesky.calls("/xrpc/com.atproto.repo.uploadBlob")
    assert "no link card" in caplog.text and reason in caplog.text


def test_a_post_with_images_keeps_its_images_and_fetches_no_card(sky, pages, media_root):
    bluesky, account = sky
    image = media_root / "dog.png"
    image.write_bytes(png_bytes(9))
    task = _publish(account, [{"text": f"A dog {pages.url}/og", "media": [{"path": str(image), "alt_text": "A dog"}]}])

    assert task.status == Status.SUCCESS, task.last_error
    (record,) = _records(bluesky)
    assert record["embed"]["$type"] == "app.bsky.embed.images"
    assert record["embed"]["images"][0]["alt"] == "A dog"
    assert pages.hits == []


def test_each_post_of_a_thread_gets_its_own_card(sky, pages):
    bluesky, account = sky
    task = _publish(account, [{"text": f"One {pages.url}/og"}, {"text": "No link"}, {"text": f"Two {pages.url}/title"}])

    assert task.status == Status.SUCCESS, task.last_error
    first, second, third = _records(bluesky)
    assert first["embed"]["external"]["title"] == "Cats & naps"
    assert second.get("embed") is None
    assert third["embed"]["external"]["title"] == "Only a title" and third["reply"]["root"]["uri"]


def test_a_private_address_is_never_fetched(sky, pages, settings, monkeypatch):
    bluesky, account = sky
    settings.OUTBOUND_ALLOW_PRIVATE = False  # the real rule (the PDS double is reached by atproto itself)
    # A public-looking name that resolves inside the network is refused where the socket opens.
    monkeypatch.setattr("cradle_site.outbound.resolve", lambda host, port: ["10.0.0.7"])
    text = f"Inside {pages.url}/og and https://intranet.example.com/og"
    task = _publish(account, [{"text": text}, {"text": "and https://intranet.example.com/page"}])

    assert task.status == Status.SUCCESS, task.last_error
    assert pages.hits == []
    assert [r.get("embed") for r in _records(bluesky)] == [None, None]


def test_the_double_refuses_an_external_embed_the_real_pds_would(sky):
    bluesky, _account = sky
    assert bluesky._embed_error({"$type": "app.bsky.embed.external", "external": {"uri": "https://a.example"}})
    thumb = {"$type": "blob", "ref": {"$link": "bafyreinotuploaded"}, "mimeType": "image/png", "size": 10}
    card = {"uri": "https://a.example", "title": "t", "description": "", "thumb": thumb}
    assert "not uploaded" in bluesky._embed_error({"$type": "app.bsky.embed.external", "external": card})
    card["thumb"] = "a string"
    assert "blob ref" in bluesky._embed_error({"$type": "app.bsky.embed.external", "external": card})
    del card["thumb"]
    assert bluesky._embed_error({"$type": "app.bsky.embed.external", "external": card}) == ""


def test_parse_page_reads_og_tags_then_title_and_resolves_the_image():
    assert link_cards.parse_page(OG_PAGE, "https://cats.example/a/b") == (
        "Cats & naps",
        "Why cats sleep 16 hours a day",
        "https://cats.example/cat.png",
    )
    assert link_cards.parse_page(TITLE_PAGE, "https://x.example/") == ("Only a title", "", "")
    long = '<meta name="description" content="' + "d" * 2000 + '"><title>t</title>'
    _title, description, _image = link_cards.parse_page(long, "https://x.example/")
    assert len(description) == link_cards.DESCRIPTION_MAX and description.endswith("…")
