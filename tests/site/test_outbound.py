"""The checked session: the address rule, the URL rule (no DNS), and what the connection keeps."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError

from cradle_site import outbound
from cradle_site.outbound import OutboundError, UnsafeURL, address_is_public, check_url_syntax, open_url
from cradle_site.outbound_errors import Kind
from messaging.channels import HttpSmsGateway, WebhookChannel, validate_contact
from messaging.models import Recipient
from publishing.services import project_create, source_create
from tests.site.outbound_doubles import PUBLIC_IP, FakeNetwork, LocalServers, redirect_to, webhook_recipient


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",  # shared (carrier-grade NAT)
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fec0::1",  # site-local
        "ff0e::1",  # global-scope multicast: still not a host
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
        "2001:db8::1",  # documentation
    ],
)
def test_it_refuses_every_address_inside_or_around_the_network(address):
    assert not address_is_public(address)


@pytest.mark.parametrize(
    "address", [PUBLIC_IP, "1.1.1.1", "2606:4700::1111", "64:ff9b::5db8:d70e", "2002:5db8:d70e::1"]
)
def test_it_admits_public_addresses_and_public_ones_embedded(address):
    assert address_is_public(address)


@pytest.fixture
def no_dns(monkeypatch):
    """Any name resolution fails the test: validation inside a request must not wait on DNS."""

    def refuse(*args, **kwargs):
        raise AssertionError("a name was resolved")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(outbound, "resolve", refuse)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8343\\@example.com/../admin/feed.xml", Kind.INVALID_URL),
        ("https://169.254.169.254\\@example.com/../latest/meta-data/", Kind.INVALID_URL),
        ("https://user@example.com/", Kind.INVALID_URL),
        ("https://user:pw@example.com/", Kind.INVALID_URL),
        ("https://exa mple.com/", Kind.INVALID_URL),
        ("https://example.com/\x00", Kind.INVALID_URL),
        ("ftp://example.com/", Kind.INVALID_URL),
        ("javascript:alert(1)", Kind.INVALID_URL),
        ("https:///nohost", Kind.INVALID_URL),
        ("https://[::1/", Kind.INVALID_URL),
        (f"https://{'a' * 64}.com/", Kind.INVALID_URL),
        ("https://2130706433/", Kind.INVALID_URL),
        ("https://0x7f.1/", Kind.INVALID_URL),
        ("https://0177.0.0.1/", Kind.INVALID_URL),
        ("https://127.1/", Kind.INVALID_URL),
        ("https://10.0.0.5/hook", Kind.REFUSED_ADDRESS),
        ("https://[::ffff:127.0.0.1]/", Kind.REFUSED_ADDRESS),
        ("https://[64:ff9b::7f00:1]/", Kind.REFUSED_ADDRESS),
    ],
)
def test_the_url_rule_refuses_ambiguous_addresses_without_resolving(url, kind, no_dns, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeURL) as error:
        check_url_syntax(url)
    assert error.value.kind == kind


def test_the_url_rule_admits_names_it_cannot_judge_without_dns_and_normalises_as_it_sends(no_dns):
    assert check_url_syntax("HTTPS://Hooks.Example.COM:443/a/../b?x=1") == "https://hooks.example.com:443/b?x=1"
    assert check_url_syntax("https://no-such-host.invalid/feed") == "https://no-such-host.invalid/feed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "contact",
    ["https://169.254.169.254\\@example.com/../latest/meta-data/", "https://user@hooks.example.com/", "https://[::1]/"],
)
def test_the_api_answers_400_naming_the_field_without_resolving(contact, owner, api_client_for, no_dns):
    api = api_client_for(owner, ["messages:write"])
    body = {
        "content": "hello",
        "initial_delay_months": 1,
        "recipients": [{"name": "Hook", "contact": contact, "contact_type": "webhook"}],
    }
    response = api.post("/api/v1/messages/", body, format="json")
    assert response.status_code == 400
    [reason] = response.json()["error"]["fields"]["recipients[0].contact"]
    assert reason.startswith(("Give", "Write", "[::1] is an address inside"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8343\\@example.com/../admin/feed.xml", "backslashes"),
        ("https://user:pw@feeds.example.org/rss", "without a user name"),
        ("http://2130706433/feed", "four decimal numbers"),
        ("http://10.0.0.1/feed", "inside this server's network"),
    ],
)
def test_a_feed_source_refuses_the_url_naming_the_field_without_resolving(url, reason, owner, no_dns):
    project = project_create(owner=owner, name="P", slot_interval_minutes=30, daily_cap=10)
    with pytest.raises(ValidationError) as error:
        source_create(project=project, source_type="rss_feed", path_or_identifier=url)
    assert reason in error.value.message_dict["path_or_identifier"][0]


def test_a_webhook_contact_is_checked_by_the_same_rule(no_dns):
    with pytest.raises(ValidationError) as error:
        validate_contact(Recipient.ContactType.WEBHOOK, "https://u@hooks.example.com/")
    assert error.value.code == "invalid_url"
    with pytest.raises(ValidationError) as error:
        validate_contact(Recipient.ContactType.WEBHOOK, "https://[::ffff:10.0.0.1]/")
    assert error.value.code == "private_address"
    assert (
        validate_contact(Recipient.ContactType.WEBHOOK, "https://hooks.example.com/x") == "https://hooks.example.com/x"
    )


@pytest.fixture
def internal():
    servers = LocalServers()
    yield servers
    servers.close()


@pytest.fixture
def internet():
    servers = LocalServers(ipv6=False)
    yield servers
    servers.close()


@pytest.fixture
def network(monkeypatch, internet, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_HOSTS = []
    fake = FakeNetwork(monkeypatch, internet)
    fake.names["public.test"] = [PUBLIC_IP]
    return fake


def _get(url: str, **kwargs) -> int:
    with open_url(url, timeout=3, deadline=5, ok_statuses=None, **kwargs) as response:
        return response.status_code


def test_a_name_that_does_not_resolve_is_refused_when_connecting(network):
    def nxdomain(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    network.names["gone.test"] = nxdomain
    with pytest.raises(OutboundError) as error:
        _get("http://gone.test/feed")
    assert error.value.kind == Kind.UNREACHABLE
    assert str(error.value) == "Couldn't reach gone.test — check the address."


def test_the_name_stays_in_the_host_header_while_the_socket_goes_to_the_checked_address(network, internet):
    assert _get("http://public.test/feed.xml?x=1") == 200
    assert internet.state.hosts == ["public.test"]
    assert network.connected == [(PUBLIC_IP, 80)]


def test_a_rebinding_name_is_resolved_once_and_the_connection_uses_that_answer(network, internet, internal):
    network.rebinding("rebind.test")
    assert _get(f"http://rebind.test:{internal.port}/") == 200
    assert network.resolved == ["rebind.test"]
    assert network.connected == [(PUBLIC_IP, internal.port)]
    assert internal.connections == 0 and internet.connections == 1


def test_each_redirect_hop_is_checked_and_a_post_never_follows(network, internet, internal, settings):
    internet.routes["/hop"] = redirect_to("/to-loopback")
    internet.routes["/to-loopback"] = redirect_to(f"http://127.0.0.1:{internal.port}/secret")
    with pytest.raises(UnsafeURL) as error:
        _get("http://public.test/hop")
    assert error.value.kind == Kind.REFUSED_ADDRESS
    assert internet.state.paths == {"/hop": 1, "/to-loopback": 1}
    with open_url("http://public.test/hop", method="POST", timeout=3, deadline=5, ok_statuses=None) as response:
        assert response.status_code == 302
    assert internal.connections == 0


def test_too_many_redirects_end_the_request(network, internet):
    internet.routes["/loop"] = redirect_to("/loop")
    with pytest.raises(OutboundError) as error:
        _get("http://public.test/loop")
    assert error.value.kind == Kind.TOO_MANY_REDIRECTS
    assert internet.state.paths["/loop"] == outbound.MAX_REDIRECTS + 1


def test_a_proxy_in_the_environment_is_not_used(network, internet, internal, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{internal.port}")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{internal.port}")
    assert _get("http://public.test/") == 200
    assert internal.connections == 0 and internet.connections == 1


def test_allow_private_lifts_the_address_rule_and_nothing_else(internal, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    assert _get(f"http://127.0.0.1:{internal.port}/") == 200
    for url in (f"http://127.0.0.1:{internal.port}\\@example.com/", f"http://2130706433:{internal.port}/"):
        with pytest.raises(UnsafeURL):
            _get(url)
    assert internal.connections == 1


@pytest.mark.django_db
def test_the_operator_allow_list_admits_the_sms_gateway_and_never_a_users_webhook(internal, settings, owner):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_HOSTS = [f"127.0.0.1:{internal.port}"]
    url = f"http://127.0.0.1:{internal.port}/sms"
    HttpSmsGateway(url=url, token="t").send("+14155550123", "hello")
    assert internal.state.paths == {"/sms": 1}
    message, recipient = webhook_recipient(owner, url)
    with pytest.raises(Exception, match="inside this server's network"):
        WebhookChannel().send(recipient=recipient, message=message, delivery_id="d-1")
    assert internal.state.paths == {"/sms": 1}


# --- TLS: the name, not the address, is what the certificate is checked against ----------


def _certificate(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_public(tmp_path, network):
    """A TLS server for "secure.test" (its own CA) behind the public address, recording the SNI it was sent."""
    cert_path, key_path = _certificate(tmp_path, "secure.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    seen: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: seen.append(name)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    network.routes[PUBLIC_IP] = listener.getsockname()[1]
    network.names["secure.test"] = [PUBLIC_IP]
    network.names["other.test"] = [PUBLIC_IP]
    yield cert_path, seen
    listener.close()


def test_tls_sends_the_name_as_sni_and_verifies_the_certificate_for_it(tls_public):
    ca, seen = tls_public
    assert _get("https://secure.test/", verify=str(ca)) == 200
    assert seen == ["secure.test"]
    with pytest.raises(OutboundError) as error:
        _get("https://other.test/", verify=str(ca))  # same address, a certificate for another name
    assert error.value.kind == Kind.TLS
    assert str(error.value) == "Couldn't make a secure connection to other.test."
