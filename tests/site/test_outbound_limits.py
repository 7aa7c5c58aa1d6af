"""Bounded work: a 1 GB feed, a feed that drips a byte a second, a webhook that answers the same way.

Each ends within a few seconds and grows the process by less than a fixed bound. Growth
is the peak resident size: the kernel's high-water mark is reset first where Linux allows
it (``/proc/self/clear_refs``), so the figure is this read's peak, not an earlier test's.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from cradle_site.outbound_errors import Kind
from messaging.channels import ChannelMaybeSent, WebhookChannel
from publishing.media import MediaError, open_media
from publishing.models import ContentSource
from publishing.services import project_create
from publishing.sources import SourceError, rss
from tests.site.outbound_doubles import PUBLIC_IP, FakeNetwork, LocalServers, drip, endless, webhook_recipient

MEMORY_BOUND_MB = 50


def _peak_rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux, or not allowed: the bound is then checked against the earlier peak


def _current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return _peak_rss_mb()


def declared_gigabyte(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(1024**3))
    handler.end_headers()
    try:
        handler.wfile.write(b"<rss>" + b" " * 65536)
    except OSError:
        pass


def dripping_headers(handler) -> None:
    """The status line, then a header one byte a second: the answer never ends."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    try:
        for _ in range(3600):
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(1)
    except OSError:
        pass
    handler.close_connection = True


@pytest.fixture
def internet():
    servers = LocalServers(
        {"/gigabyte": endless, "/declared": declared_gigabyte, "/drip": drip, "/slow-headers": dripping_headers},
        ipv6=False,
    )
    yield servers
    servers.close()


@pytest.fixture
def network(monkeypatch, internet, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    fake = FakeNetwork(monkeypatch, internet)
    fake.names["feeds.test"] = [PUBLIC_IP]
    return fake


@pytest.fixture
def feed(owner, network):
    project = project_create(owner=owner, name="P", slot_interval_minutes=30, daily_cap=10)

    def scan(path: str) -> SourceError:
        source = ContentSource.objects.create(
            project=project, source_type="rss_feed", path_or_identifier=f"http://feeds.test{path}"
        )
        with pytest.raises(SourceError) as error:
            rss.fetch_items(source)
        return error.value

    return scan


@pytest.mark.django_db
def test_it_stops_reading_a_1_gb_feed_at_the_cap(feed, settings):
    settings.PUBLISHING_FEED_MAX_BYTES = 10 * 1024 * 1024
    _reset_peak()
    before, started = _current_rss_mb(), time.monotonic()
    error = feed("/gigabyte")
    elapsed, growth = time.monotonic() - started, _peak_rss_mb() - before
    print(f"1 GB feed: refused after {elapsed:.2f} s, peak RSS growth {growth:.1f} MB")
    assert error.kind == Kind.TOO_LARGE
    assert str(error) == "feeds.test sent more than the 10,485,760 bytes allowed."
    assert elapsed < 5
    assert growth < MEMORY_BOUND_MB


@pytest.mark.django_db
def test_it_refuses_a_feed_declaring_1_gb_before_reading_it(feed, internet):
    started = time.monotonic()
    assert feed("/declared").kind == Kind.TOO_LARGE
    assert time.monotonic() - started < 2


@pytest.mark.django_db
def test_a_feed_dripping_a_byte_a_second_ends_at_the_deadline(feed, settings):
    settings.PUBLISHING_FEED_READ_SECONDS = 2
    settings.PUBLISHING_HTTP_TIMEOUT = 30  # per read: never reached by a drip, so it is not what ends it
    _reset_peak()
    before, started = _current_rss_mb(), time.monotonic()
    error = feed("/drip")
    elapsed = time.monotonic() - started
    print(f"drip feed: ended after {elapsed:.2f} s")
    assert error.kind == Kind.TIMEOUT
    assert str(error) == "feeds.test took too long to answer."
    assert 1.5 < elapsed < 4
    assert _peak_rss_mb() - before < MEMORY_BOUND_MB


@pytest.mark.django_db
def test_an_enclosure_dripping_or_too_large_ends_too(network, settings):
    settings.PUBLISHING_MEDIA_READ_SECONDS = 2
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        with open_media(None, {"kind": "url", "url": "http://feeds.test/drip"}):
            pass
    assert error.value.kind == Kind.TIMEOUT and time.monotonic() - started < 4
    settings.PUBLISHING_MEDIA_MAX_BYTES = 5 * 1024 * 1024
    _reset_peak()
    before, started = _current_rss_mb(), time.monotonic()
    with pytest.raises(MediaError) as error:
        with open_media(None, {"kind": "url", "url": "http://feeds.test/gigabyte"}):
            pass
    assert error.value.kind == Kind.TOO_LARGE and time.monotonic() - started < 5
    assert _peak_rss_mb() - before < MEMORY_BOUND_MB


@pytest.mark.django_db
def test_a_webhook_answering_a_byte_a_second_ends_within_twice_its_timeout(network, owner, settings):
    settings.MESSAGING_WEBHOOK_TIMEOUT = 1
    network.names["hooks.test"] = [PUBLIC_IP]
    message, recipient = webhook_recipient(owner, "http://hooks.test/slow-headers")
    started = time.monotonic()
    with pytest.raises(ChannelMaybeSent) as error:
        WebhookChannel().send(recipient=recipient, message=message, delivery_id="d-1")
    assert time.monotonic() - started < 3
    assert str(error.value) == "webhook: hooks.test took too long to answer."
