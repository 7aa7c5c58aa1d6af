"""The two rules an outbound URL must pass: an unambiguous URL, and a public address.

``check_url_syntax`` needs no DNS (forms and the API call it); ``address_is_public`` judges
one address, embedded IPv4 addresses included. ``cradle_site.outbound`` applies both where
the connection is made; see its docstring for why there.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from cradle_site.outbound_errors import invalid_url, refused_address

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not global, and 3.11 forgets it in is_private
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64: the last 32 bits are an IPv4 address
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): an operator's own
_SIXTOFOUR = ipaddress.ip_network("2002::/16")  # 6to4: bits 16-48 are an IPv4 address
_TEREDO = ipaddress.ip_network("2001::/32")  # Teredo tunnels to a client address we cannot judge
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\\s]")


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


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def numeric_but_not_dotted_quad(host: str) -> bool:
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


def host_key(host: str, port: int) -> str:
    """``host:port`` as ``OUTBOUND_ALLOWED_HOSTS`` spells it (an IPv6 address in brackets)."""
    host = host.lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def operator_hosts() -> frozenset[str]:
    """``OUTBOUND_ALLOWED_HOSTS`` as ``host:port`` strings, for the operator's own endpoints only."""
    return frozenset(settings.OUTBOUND_ALLOWED_HOSTS)


# --- the URL rule (no DNS) --------------------------------------------------------------


def authority_of(url: str) -> str:
    """The user info, host and port of an absolute URL as written ("" for a relative one)."""
    _scheme, sep, rest = url.partition("://")
    return re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else ""


def _valid_name(host: str) -> bool:
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    return len(host) <= 253 and all(_LABEL.match(label) for label in labels)


def _is_local_name(host: str) -> bool:
    name = host.rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def check_url_syntax(url: str, *, allowed_hosts: Iterable[str] = ()) -> str:
    """The URL as it will be sent, or ``UnsafeURL`` naming what is wrong. Never resolves a name.

    What forms and the API call for a feed or webhook address: the full check (the address
    the name resolves to) is made when the connection is opened. ``allowed_hosts``: the
    operator's ``host:port`` services a literal private address may name (``operator_hosts``).
    """
    url = url or ""
    if FORBIDDEN_CHARS.search(url):
        raise invalid_url(_("Give the address without spaces, backslashes or control characters."))
    scheme, sep, _rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise invalid_url(_("Give an http:// or https:// address."))
    authority = authority_of(url)
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
    if numeric_but_not_dotted_quad(host):
        raise invalid_url(_("Write an IPv4 address as four decimal numbers, e.g. 93.184.215.14."))
    literal = ip_literal(host)
    if literal is None and not _valid_name(host):
        raise invalid_url(_("%(host)s is not a valid host name.") % {"host": host[:100]})
    # Names that mean this machine by definition (RFC 6761): refused now, with the same
    # sentence as a literal loopback address, instead of only when the socket would open.
    if (
        literal is None
        and not settings.OUTBOUND_ALLOW_PRIVATE
        and _is_local_name(host)
        and not any(key.rsplit(":", 1)[0] == host for key in allowed_hosts)
    ):
        raise refused_address(host)
    if literal is not None and not settings.OUTBOUND_ALLOW_PRIVATE and not address_is_public(literal):
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if host_key(host, port) not in allowed_hosts:
            raise refused_address(host)
    return prepared
