"""Every channel x every URL form: a service on 127.0.0.1 / ::1 receives no connection at all.

The channels are the five ways Cradle makes an HTTP request: a feed scan, a feed
enclosure download, the Drive API (its base URL set to the form), a webhook delivery and
the HTTP SMS gateway (its URL set to the form, with no ``OUTBOUND_ALLOWED_HOSTS``). The
internal service counts TCP connections it accepts, so "no request" means no byte reached
it. Where the form is refused before any connection, the error kind says so too; the
redirect and rebinding forms reach the public double first (through the fake network)
and must still never reach the internal one.
"""

from __future__ import annotations

import pytest

from cradle_site.outbound_errors import Kind, OutboundError
from messaging.channels import ChannelError, HttpSmsGateway, WebhookChannel
from publishing.media import MediaError, open_media
from publishing.models import ContentSource
from publishing.services import project_create
from publishing.sources import SourceError, google_drive, rss
from tests.site.outbound_doubles import PUBLIC_IP, FakeNetwork, LocalServers, redirect_to, webhook_recipient

FORMS = {
    "backslash": "http://127.0.0.1:{P}\\@example.com/../admin/feed.xml",
    "backslash-metadata": "http://169.254.169.254\\@example.com/../latest/meta-data/",
    "backslash-reversed": "http://example.com\\@127.0.0.1:{P}/",
    "userinfo": "http://user@127.0.0.1:{P}/",
    "userinfo-password": "http://user:pass@127.0.0.1:{P}/",
    "userinfo-public-name": "http://example.com@127.0.0.1:{P}/",
    "userinfo-encoded-at": "http://example.com%40@127.0.0.1:{P}/",
    "percent-encoded-host": "http://%31%32%37.0.0.1:{P}/",
    "decimal": "http://2130706433:{P}/",
    "octal": "http://0177.0.0.1:{P}/",
    "hex": "http://0x7f.0.0.1:{P}/",
    "hex-whole": "http://0x7f000001:{P}/",
    "hex-short": "http://0x7f.1:{P}/",
    "short": "http://127.1:{P}/",
    "short-three": "http://127.0.1:{P}/",
    "trailing-dot": "http://127.0.0.1.:{P}/",
    "plain": "http://127.0.0.1:{P}/",
    "tab": "http://127.0.0.1:{P}/\t",
    "newline-in-host": "http://127.0.0.1\n.example.com:{P}/",
    "zero": "http://0.0.0.0:{P}/",
    "zero-short": "http://0:{P}/",
    "v6-unspecified": "http://[::]:{P}/",
    "v6-loopback": "http://[::1]:{P}/",
    "v4-mapped": "http://[::ffff:127.0.0.1]:{P}/",
    "v4-mapped-hex": "http://[::ffff:7f00:1]:{P}/",
    "v4-compatible": "http://[::127.0.0.1]:{P}/",
    "nat64": "http://[64:ff9b::7f00:1]:{P}/",
    "6to4": "http://[2002:7f00:1::]:{P}/",
    "teredo": "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{P}/",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "localhost": "http://localhost:{P}/",
    "name-to-loopback": "http://loopback.test:{P}/",
    "name-to-v6-loopback": "http://v6loop.test:{P}/",
    "name-to-v4-mapped": "http://mapped.test:{P}/",
    "name-with-one-private-address": "http://mixed.test:{P}/",
    "redirect-to-loopback": "http://public.test/to-loopback",
    "redirect-to-name": "http://public.test/to-name",
    "redirect-backslash": "http://public.test/to-backslash",
    "rebinding": "http://rebind.test:{P}/",
}
# These reach the public double first; what they must not do is reach the internal one.
VIA_PUBLIC = {"redirect-to-loopback", "redirect-to-name", "redirect-backslash", "rebinding"}
REFUSALS = {Kind.INVALID_URL, Kind.REFUSED_ADDRESS}


@pytest.fixture(scope="module")
def internal():
    servers = LocalServers()
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def internet(internal):
    p = internal.port
    servers = LocalServers(
        {
            "/to-loopback": redirect_to(f"http://127.0.0.1:{p}/secret"),
            "/to-name": redirect_to(f"http://loopback.test:{p}/secret"),
            "/to-backslash": redirect_to(f"http://127.0.0.1:{p}\\@example.com/secret"),
        },
        ipv6=False,
    )
    yield servers
    servers.close()


@pytest.fixture
def network(monkeypatch, internet, internal, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_HOSTS = []
    settings.MESSAGING_WEBHOOK_TIMEOUT = 2
    settings.PUBLISHING_HTTP_TIMEOUT = 2
    fake = FakeNetwork(monkeypatch, internet)
    fake.names.update(
        {
            "loopback.test": ["127.0.0.1"],
            "v6loop.test": ["::1"],
            "mapped.test": ["::ffff:127.0.0.1"],
            "mixed.test": [PUBLIC_IP, "127.0.0.1"],
            "public.test": [PUBLIC_IP],
        }
    )
    fake.rebinding("rebind.test")
    internal.state.connections = 0
    return fake


def _outbound_kind(exc: BaseException) -> str:
    """The outbound kind behind a channel's error (``""`` for a refusal that is not the transport's)."""
    if getattr(exc, "kind", "") in set(Kind):
        return exc.kind
    cause = exc.__cause__
    return cause.kind if isinstance(cause, OutboundError) else ""


def via_feed(url: str, project, settings) -> str:
    source = ContentSource.objects.create(project=project, source_type="rss_feed", path_or_identifier=url)
    try:
        rss.fetch_items(source)
    except SourceError as exc:
        return _outbound_kind(exc)
    return "fetched"


def via_enclosure(url: str, project, settings) -> str:
    try:
        with open_media(None, {"kind": "url", "url": url}):
            return "fetched"
    except (MediaError, SourceError) as exc:
        return _outbound_kind(exc)


def via_drive(url: str, project, settings) -> str:
    settings.PUBLISHING_GOOGLE_DRIVE_BASE_URL = url.rstrip("/")
    source = ContentSource.objects.create(
        project=project, source_type="google_drive", path_or_identifier="FOLDER", credential="AIzaKEY"
    )
    try:
        google_drive.fetch_items(source)
    except SourceError as exc:
        return _outbound_kind(exc)
    return "fetched"


def via_webhook(url: str, project, settings) -> str:
    message, recipient = webhook_recipient(project.owner, url)
    try:
        WebhookChannel().send(recipient=recipient, message=message, delivery_id="d-1")
    except ChannelError as exc:
        return _outbound_kind(exc) or "answered"
    return "sent"


def via_sms(url: str, project, settings) -> str:
    try:
        HttpSmsGateway(url=url, token="sms-token").send("+14155550123", "hello")
    except ChannelError as exc:
        return _outbound_kind(exc) or "answered"
    return "sent"


CHANNELS = {"feed": via_feed, "enclosure": via_enclosure, "drive": via_drive, "webhook": via_webhook, "sms": via_sms}


def test_it_covers_at_least_25_url_forms():
    assert len(FORMS) >= 25


@pytest.mark.django_db
@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("channel", list(CHANNELS))
def test_it_never_connects_inside_the_network(channel, form, owner, network, internal, settings):
    project = project_create(owner=owner, name="P", slot_interval_minutes=30, daily_cap=10)
    url = FORMS[form].replace("{P}", str(internal.port))
    outcome = CHANNELS[channel](url, project, settings)
    assert internal.connections == 0, f"{channel} reached the internal service through {url!r}"
    assert not any(address in ("127.0.0.1", "::1") for address, _port in network.connected)
    if form not in VIA_PUBLIC:
        assert outcome in REFUSALS, f"{channel} {url!r}: {outcome}"
    if form == "rebinding":
        # One resolution, and the connection went to the address that was checked.
        assert network.resolved.count("rebind.test") == 1
        assert network.connected == [(PUBLIC_IP, internal.port)]
