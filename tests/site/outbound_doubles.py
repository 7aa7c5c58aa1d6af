"""Local HTTP doubles and a fake network for the outbound tests.

``InternalService`` stands for what only the server can reach: real HTTP servers on
127.0.0.1 and ::1 (one port) that count every TCP connection they accept, so a test can
say "it received nothing" about bytes on the wire, not about our own bookkeeping.

``FakeNetwork`` replaces the two seams of ``cradle_site.outbound``: ``resolve`` (names in
the table answer what the test says; a callable answers differently each time, for DNS
rebinding) and ``open_socket`` (a connection to ``PUBLIC_IP`` is routed to the
``Internet`` double, as if the internet had one host). Nothing else is faked: the check,
the resolution order and the socket to a checked address are the code under test, and a
connection to any other address is a real one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cradle_site import outbound

PUBLIC_IP = "93.184.215.14"  # a global address; the fake network routes it to the Internet double


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _Counting:
    def __init__(self) -> None:
        self.connections = 0
        self.paths: Counter[str] = Counter()
        self.hosts: list[str] = []
        self.lock = threading.Lock()


def _handler(state: _Counting, routes: dict[str, Callable]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            with state.lock:
                state.connections += 1
            super().setup()

        def _any(self) -> None:
            with state.lock:
                state.paths[self.path] += 1
                state.hosts.append(self.headers.get("Host", ""))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            # The longest route the path starts with: a Drive base URL gets /drive/v3/... appended.
            matches = [key for key in routes if self.path.startswith(key)]
            route = routes[max(matches, key=len)] if matches else None
            if route:
                route(self)
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_POST = do_HEAD = _any  # noqa: N815 - http.server's names

        def log_message(self, *args) -> None:
            pass

    return Handler


class LocalServers:
    """HTTP servers on 127.0.0.1 (and ::1 on the same port when it can) sharing one count."""

    def __init__(self, routes: dict[str, Callable] | None = None, *, ipv6: bool = True) -> None:
        self.state = _Counting()
        self.routes = routes if routes is not None else {}
        handler = _handler(self.state, self.routes)
        self.servers = []
        for _attempt in range(20):
            v4 = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            port = v4.server_address[1]
            if not ipv6:
                self.servers = [v4]
                break
            try:
                v6 = _V6Server(("::1", port), handler)
            except OSError:
                v4.server_close()
                continue
            self.servers = [v4, v6]
            break
        for server in self.servers:
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.port = self.servers[0].server_address[1]

    @property
    def connections(self) -> int:
        return self.state.connections

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def redirect_to(location: str) -> Callable:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def endless(handler: BaseHTTPRequestHandler) -> None:
    """An answer with no end (no length, no chunks): 64 KB pieces, generated as they are written."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Connection", "close")
    handler.end_headers()
    piece = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
    try:
        handler.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
        for _ in range(16 * 1024):  # 1 GiB at most
            handler.wfile.write(piece)
    except OSError:
        pass  # the reader stopped, as it should
    handler.close_connection = True


def drip(handler: BaseHTTPRequestHandler) -> None:
    """One byte a second, forever: no single read ever waits long enough to time out."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Connection", "close")
    handler.end_headers()
    try:
        for _ in range(3600):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(1)
    except OSError:
        pass
    handler.close_connection = True


class FakeNetwork:
    """Replaces ``outbound.resolve`` and ``outbound.open_socket`` (see the module docstring)."""

    def __init__(self, monkeypatch, internet: LocalServers) -> None:
        self.names: dict[str, list[str] | Callable[[], list[str]]] = {}
        self.resolved: list[str] = []
        self.connected: list[tuple[str, int]] = []
        self.internet = internet
        self.routes: dict[str, int] = {PUBLIC_IP: internet.port}  # public address -> local port
        real_resolve, real_open = outbound.resolve, outbound.open_socket

        def resolve(host: str, port: int) -> list[str]:
            self.resolved.append(host)
            answer = self.names.get(host)
            if answer is None:
                return real_resolve(host, port)
            return answer() if callable(answer) else list(answer)

        def open_socket(address, port, timeout, source_address, socket_options):
            self.connected.append((address, port))
            if address in self.routes:
                address, port = "127.0.0.1", self.routes[address]
            return real_open(address, port, timeout, source_address, socket_options)

        monkeypatch.setattr(outbound, "resolve", resolve)
        monkeypatch.setattr(outbound, "open_socket", open_socket)

    def rebinding(self, name: str) -> None:
        """``name`` answers the public address the first time and 127.0.0.1 every time after."""
        answers = iter([[PUBLIC_IP]])
        self.names[name] = lambda: next(answers, ["127.0.0.1"])


def webhook_recipient(owner, url: str):
    """An unsaved webhook recipient of a fresh message of ``owner``, pointing at ``url`` (which the
    forms would refuse): (message, recipient) for ``WebhookChannel().send``."""
    from cradle_site.webhooks import new_secret
    from messaging.models import Recipient
    from messaging.services import message_create

    message, _key = message_create(
        owner=owner,
        title="",
        content="hello",
        initial_delay_months=1,
        recipients=[{"name": "Hook", "contact": "https://hooks.example.com/x", "contact_type": "webhook"}],
    )
    recipient = Recipient(
        message=message,
        name="Hook",
        contact=url,
        contact_type=Recipient.ContactType.WEBHOOK,
        webhook_secret=new_secret(),
    )
    return message, recipient
