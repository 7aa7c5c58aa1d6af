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

Before any connection, the URL itself must be unambiguous (``check_url_syntax``, also what
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

import ipaddress
import re
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
from urllib3.exceptions import ConnectTimeoutError, LocationParseError
from urllib3.util import connection as urllib3_connection
from urllib3.util import parse_url

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

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not global, and 3.11 forgets it in is_private
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64: the last 32 bits are an IPv4 address
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): an operator's own
_SIXTOFOUR = ipaddress.ip_network("2002::/16")  # 6to4: bits 16-48 are an IPv4 address
_TEREDO = ipaddress.ip_network("2001::/32")  # Teredo tunnels to a client address we cannot judge
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\\s]")


# --- the address rule -------------------------------------------------------------------


def _ordinary_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or (address.version == 4 and address in _SHARED)
        or (address.version == 6 and address.is_site_local)
    )


def address_is_public(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is one the whole internet can reach, embedded IPv4 addresses judged too."""
    ip = ipaddress.ip_address(str(address).split("%")[0])
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return _ordinary_public(ip.ipv4_mapped)
        if int(ip) >> 32 == 0:  # ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
            return False
        if ip in _NAT64:
            return _ordinary_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in _NAT64_LOCAL or ip in _TEREDO:
            return False
        if ip in _SIXTOFOUR:
            return ip.sixtofour is not None and _ordinary_public(ip.sixtofour)
    return _ordinary_public(ip)


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _numeric_but_not_dotted_quad(host: str) -> bool:
    """A host the resolver reads as IPv4 although it is not written as one (``127.1``, ``0x7f.1``)."""
    if host.startswith("["):
        return False
    last = host.rstrip(".").rsplit(".", 1)[-1] if host.rstrip(".") else host
    if not _NUMERIC_LABEL.match(last):
        return False
    try:
        return str(ipaddress.IPv4Address(host)) != host
    except ValueError:
        return True


def _host_key(host: str, port: int) -> str:
    """``host:port`` as ``OUTBOUND_ALLOWED_HOSTS`` spells it (an IPv6 address in brackets)."""
    host = host.lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def operator_hosts() -> frozenset[str]:
    """``OUTBOUND_ALLOWED_HOSTS`` as ``host:port`` strings, for the operator's own endpoints only."""
    return frozenset(settings.OUTBOUND_ALLOWED_HOSTS)


# --- the URL rule (no DNS) --------------------------------------------------------------


def _authority(url: str) -> str:
    """The user info, host and port of an absolute URL as written ("" for a relative one)."""
    _scheme, sep, rest = url.partition("://")
    return re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else ""


def _valid_name(host: str) -> bool:
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    return len(host) <= 253 and all(_LABEL.match(label) for label in labels)


def check_url_syntax(url: str, *, allowed_hosts: Iterable[str] = ()) -> str:
    """The URL as it will be sent, or ``UnsafeURL`` naming what is wrong. Never resolves a name.

    What forms and the API call for a feed or webhook address: the full check (the address
    the name resolves to) is made when the connection is opened. ``allowed_hosts``: the
    operator's ``host:port`` services a literal private address may name (``operator_hosts``).
    """
    url = url or ""
    if _FORBIDDEN_CHARS.search(url):
        raise invalid_url(_("Give the address without spaces, backslashes or control characters."))
    scheme, sep, _rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise invalid_url(_("Give an http:// or https:// address."))
    authority = _authority(url)
    if "@" in authority:
        raise invalid_url(_("Give an http(s) address without a user name or password."))
    if "%" in authority:
        raise invalid_url(_("Give the host name without percent signs."))
    try:
        prepared = requests.Request("GET", url).prepare().url or ""
        parsed = parse_url(prepared)
    except (requests.RequestException, LocationParseError, ValueError, UnicodeError):
        raise invalid_url(_("That is not a valid http:// or https:// address.")) from None
    host = (parsed.host or "").lower()
    if not host or parsed.auth:
        raise invalid_url(_("Give an http:// or https:// address with a host name."))
    if _numeric_but_not_dotted_quad(host):
        raise invalid_url(_("Write an IPv4 address as four decimal numbers, e.g. 93.184.215.14."))
    literal = _literal(host)
    if literal is None and not _valid_name(host):
        raise invalid_url(_("%(host)s is not a valid host name.") % {"host": host[:100]})
    if literal is not None and not settings.OUTBOUND_ALLOW_PRIVATE and not address_is_public(literal):
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if _host_key(host, port) not in allowed_hosts:
            raise refused_address(host)
    return prepared


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
        if settings.OUTBOUND_ALLOW_PRIVATE or _host_key(host, port) in self.allowed_hosts:
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
        literal = _literal(host)
        if literal is None and _numeric_but_not_dotted_quad(host):
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
        if target is not None and (_FORBIDDEN_CHARS.search(target) or "@" in _authority(target)):
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
