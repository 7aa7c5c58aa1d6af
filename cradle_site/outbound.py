"""Every outbound HTTP request (feeds, enclosures, Drive, webhooks, the SMS gateway) goes through here.

Without this a user could make the server fetch or POST to what only the server can reach:
the cloud metadata service, Redis, a router's admin page (server-side request forgery).

The address is checked where the socket is opened, not before: ``session()`` is a requests
Session whose urllib3 connections resolve the host once (``resolve``), refuse it when any
of its addresses is not public (``address_is_public``), and connect to that very address
(``open_socket``). Checking a name and then letting the library resolve it again let a DNS
server answer a public address to the check and 127.0.0.1 to the request (rebinding);
parsing the URL with ``urllib.parse`` and sending it with urllib3 let
``http://127.0.0.1:8343\\@example.com/`` be "example.com" to the check and 127.0.0.1 to the
request. The Host header, TLS SNI and the certificate check keep the name from the URL:
only the socket's address comes from our resolution. Each redirect hop is a new request
through the same connection class, so it is checked the same way; only GET follows them.

Before any connection, the URL itself must be unambiguous (``check_url_syntax`` in
``outbound_rules``, also what
forms and the API run; it never resolves, so a request never waits on DNS): http or https,
a host, no user info, no backslash, space or control character, no percent sign in the
host, and an IPv4 address only in its dotted-quad form (``2130706433``, ``0x7f.1``,
``0177.0.0.1`` and ``127.1`` all reach 127.0.0.1 through ``inet_aton``).

``OUTBOUND_ALLOW_PRIVATE`` lifts the address rule for development (nothing else).
``OUTBOUND_ALLOWED_HOSTS`` lists ``host:port`` services of the operator's own that sit
inside the network; only the operator's endpoints (the SMS gateway, the Drive base URL)
pass ``allowed_hosts=operator_hosts()``: a feed, an enclosure or a webhook a user gives
never reaches them.

A session may carry a wall-clock ``deadline`` over the whole exchange, connect and read:
requests' timeout is per socket operation, so a server that drips one byte a second never
trips it. At the deadline a timer shuts the session's sockets down. ``iter_capped`` reads a
body in chunks and stops at a byte cap.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util import connection as urllib3_connection

from cradle_site.outbound_errors import (
    OutboundError,
    UnsafeURL,
    bad_status,
    host_of,
    invalid_url,
    outbound_failure,
    refused_address,
    too_large,
    unreachable,
)
from cradle_site.outbound_rules import (
    FORBIDDEN_CHARS,
    address_is_public,
    authority_of,
    check_url_syntax,
    host_key,
    ip_literal,
    numeric_but_not_dotted_quad,
    operator_hosts,
)

__all__ = [
    "OutboundError",
    "UnsafeURL",
    "address_is_public",
    "check_url_syntax",
    "iter_capped",
    "open_url",
    "operator_hosts",
    "read_capped",
    "session",
]

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024

# --- the connection: resolve once, check, connect to that address -----------------------


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order. A seam: tests replace it."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def open_socket(address: str, port: int, timeout, source_address, socket_options) -> socket.socket:
    """Connect to the checked ``address``. A seam: tests route a public address to a local double."""
    return urllib3_connection.create_connection(
        (address, port), timeout, source_address=source_address, socket_options=socket_options
    )


class _Guard:
    """One session's rule and deadline: which addresses it may reach and when its sockets are cut."""

    def __init__(self, *, allowed_hosts: Iterable[str], deadline: float | None) -> None:
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self.ends_at = time.monotonic() + deadline if deadline else None
        self.passed = False
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._timer = threading.Timer(deadline, self._expire) if deadline else None
        if self._timer:
            self._timer.daemon = True
            self._timer.start()

    def remaining(self) -> float | None:
        return None if self.ends_at is None else max(0.0, self.ends_at - time.monotonic())

    def admits(self, host: str, port: int, address: str) -> bool:
        if settings.OUTBOUND_ALLOW_PRIVATE or host_key(host, port) in self.allowed_hosts:
            return True
        return address_is_public(address)

    def watch(self, sock: socket.socket) -> socket.socket:
        # A duplicate of the descriptor: shutting it down ends reads on the TLS socket wrapped
        # around the original too; it stays valid while the original is being wrapped, and
        # after http.client closes its connection and hands the socket to the response.
        # Closed with the session.
        watched = sock.dup()
        with self._lock:
            if self.passed:
                watched.close()
                raise TimeoutError("deadline passed")
            self._sockets.add(watched)
        return watched

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            for watched in self._sockets:
                try:
                    watched.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        if self._timer:
            self._timer.cancel()
        with self._lock:
            for watched in self._sockets:
                watched.close()
            self._sockets.clear()


class _CheckedConnectionMixin:
    """urllib3 connection whose socket goes to an address resolved once and checked."""

    def __init__(self, *args, outbound_guard: _Guard, **kwargs) -> None:
        self._outbound_guard = outbound_guard
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        guard = self._outbound_guard
        host = self._dns_host.strip("[]").rstrip(".").lower()
        literal = ip_literal(host)
        if literal is None and numeric_but_not_dotted_quad(host):
            raise invalid_url(_("Write an IPv4 address as four decimal numbers, e.g. 93.184.215.14."))
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = resolve(host, self.port)
            except (OSError, UnicodeError):
                raise unreachable(host) from None
            if not addresses:
                raise unreachable(host)
        # Every address, not only the first: a name answering one public and one private
        # address would otherwise reach inside whenever the first failed.
        for address in addresses:
            if not guard.admits(host, self.port, address):
                raise refused_address(host)
        timeout = self.timeout
        remaining = guard.remaining()
        if remaining is not None:
            if remaining <= 0:
                raise ConnectTimeoutError(self, "deadline passed")
            timeout = remaining if timeout is None else min(timeout, remaining)
        last_error: OSError | None = None
        for address in addresses:
            try:
                sock = open_socket(address, self.port, timeout, self.source_address, self.socket_options)
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, "connect timed out") from exc
            except OSError as exc:
                last_error = exc
                continue
            try:
                guard.watch(sock)
            except OSError as exc:
                sock.close()
                raise ConnectTimeoutError(self, "deadline passed") from exc
            return sock
        raise unreachable(host) from last_error


class _CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedPoolManager(PoolManager):
    def __init__(self, *args, outbound_guard: _Guard, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._outbound_guard = outbound_guard
        self.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}

    def _new_pool(self, scheme, host, port, request_context=None):
        pool = super()._new_pool(scheme, host, port, request_context)
        # Per pool, not in the pool key: every connection of this session carries the guard.
        pool.conn_kw["outbound_guard"] = self._outbound_guard
        return pool


class _CheckedAdapter(HTTPAdapter):
    def __init__(self, guard: _Guard) -> None:
        self._outbound_guard = guard
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        self.poolmanager = _CheckedPoolManager(
            num_pools=connections, maxsize=maxsize, block=block, outbound_guard=self._outbound_guard, **pool_kwargs
        )

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # Through a proxy the socket would go to the proxy and the check would judge it.
        raise invalid_url(_("Outbound requests do not go through a proxy."))


class OutboundSession(requests.Session):
    """A requests Session whose every request, and every redirect hop, goes through the check."""

    def __init__(self, *, allowed_hosts: Iterable[str] = (), deadline: float | None = None) -> None:
        super().__init__()
        self.trust_env = False  # no proxies, no .netrc from the environment
        self.max_redirects = MAX_REDIRECTS
        self.guard = _Guard(allowed_hosts=allowed_hosts, deadline=deadline)
        adapter = _CheckedAdapter(self.guard)
        self.adapters.clear()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, *args, **kwargs):
        # The URL as given, before requests normalises a backslash or a user name away.
        check_url_syntax(url, allowed_hosts=self.guard.allowed_hosts)
        return super().request(method, url, *args, **kwargs)

    def send(self, request, **kwargs):
        check_url_syntax(request.url, allowed_hosts=self.guard.allowed_hosts)  # every hop passes here
        return super().send(request, **kwargs)

    def get_redirect_target(self, resp):
        target = super().get_redirect_target(resp)
        # The Location as sent, before requests normalises a backslash or a user name away.
        if target is not None and (FORBIDDEN_CHARS.search(target) or "@" in authority_of(target)):
            raise invalid_url(_("The address redirected to an ambiguous address."))
        return target

    def close(self) -> None:
        self.guard.close()
        super().close()


def session(*, allowed_hosts: Iterable[str] = (), deadline: float | None = None) -> OutboundSession:
    """A checked session; close it (``with``) to release its sockets and its deadline timer."""
    return OutboundSession(allowed_hosts=allowed_hosts, deadline=deadline)


@contextmanager
def open_url(
    url: str,
    *,
    method: str = "GET",
    timeout: float,
    deadline: float,
    allowed_hosts: Iterable[str] = (),
    ok_statuses: Iterable[int] | None = (200,),
    **kwargs,
) -> Iterator[requests.Response]:
    """The streamed response of one checked request; any failure is an ``OutboundError``.

    GET follows redirects (each hop checked); any other method never does (the redirect is
    the answer). ``deadline`` bounds the whole exchange in seconds, reading included, while
    the block runs. A status outside ``ok_statuses`` (``None``: any) is an ``OutboundError``
    of kind ``bad_answer`` with ``.status``.
    """
    with session(allowed_hosts=allowed_hosts, deadline=deadline) as http:
        try:
            response = http.request(
                method, url, stream=True, timeout=timeout, allow_redirects=method.upper() == "GET", **kwargs
            )
        except Exception as exc:
            raise outbound_failure(exc, url=url, deadline_passed=http.guard.passed) from exc
        response.outbound_url = url  # for the sentence of a failure while reading
        response.outbound_guard = http.guard
        try:
            if http.guard.passed:
                # The deadline cut the socket while the headers came in: http.client takes the
                # end of the stream for the end of the headers, and this "answer" is not one.
                raise outbound_failure(TimeoutError("deadline passed"), url=url, deadline_passed=True)
            if ok_statuses is not None and response.status_code not in set(ok_statuses):
                raise bad_status(host_of(url), response.status_code)
            yield response
        finally:
            response.close()


def iter_capped(response: requests.Response, *, max_bytes: int, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The body of an ``open_url`` response in chunks; ``OutboundError`` past ``max_bytes`` or on any failure.

    The cap counts bytes after decompression, so a small gzip bomb is as large as what it expands to.
    """
    url = getattr(response, "outbound_url", response.url)
    guard = getattr(response, "outbound_guard", None)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(host_of(url), max_bytes)
    size = 0
    try:
        for chunk in response.iter_content(chunk_bytes):
            size += len(chunk)
            if size > max_bytes:
                raise too_large(host_of(url), max_bytes)
            yield chunk
    except OutboundError:
        raise
    except Exception as exc:
        raise outbound_failure(exc, url=url, deadline_passed=bool(guard and guard.passed)) from exc
    if guard is not None and guard.passed:
        # The timer cut the socket between two reads and the body looked complete: it is not.
        raise outbound_failure(TimeoutError("deadline passed"), url=url, deadline_passed=True)


def read_capped(response: requests.Response, *, max_bytes: int) -> bytes:
    """The whole body of an ``open_url`` response, at most ``max_bytes`` (``OutboundError`` past it)."""
    return b"".join(iter_capped(response, max_bytes=max_bytes))
