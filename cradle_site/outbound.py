"""Requests to addresses our users give us (feeds, feed enclosures, webhooks) stay outside.

Without this a user could make the server fetch or POST to what only the server can reach:
the cloud metadata service, Redis, a router's admin page (server-side request forgery).
A URL whose host is, or resolves to, an address that is not globally routable (loopback,
private, link-local, shared, reserved, multicast) is refused, and so is every redirect
hop. ``OUTBOUND_ALLOW_PRIVATE`` lifts the rule for development against local services.

A host that does not resolve is left to the request itself, which then fails the ordinary
way. The check resolves the name once and the request resolves it again, so a DNS server
that answers differently the second time (rebinding) is not stopped here; the network
(egress rules) is the place for that.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _

MAX_REDIRECTS = 5


class UnsafeURL(ValueError):
    """The URL points inside the server's own network."""


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except UnicodeError:
        # Not a host name at all (an empty label, one over 63 characters): the request
        # would fail with a ValueError of urllib3's, not the RequestException callers expect.
        raise UnsafeURL(_("%(host)s is not a valid host name.") % {"host": host}) from None
    except OSError:
        return []
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_public_url(url: str) -> None:
    """Raise ``UnsafeURL`` when ``url`` is not an http(s) URL of a public host."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname  # a bad [IPv6] literal raises here or in urlsplit
    except ValueError:
        hostname = None
    if not hostname or parts.scheme not in ("http", "https"):
        raise UnsafeURL(_("Give an http:// or https:// address."))
    if settings.OUTBOUND_ALLOW_PRIVATE:
        return
    for address in _addresses(hostname.strip("[]")):
        mapped = getattr(address, "ipv4_mapped", None)
        if not (mapped or address).is_global:
            raise UnsafeURL(
                _("%(host)s is an address inside this server's network; give a public address.") % {"host": hostname}
            )


def public_get(url: str, **kwargs) -> requests.Response:
    """``requests.get`` that checks the URL and every redirect it follows with ``check_public_url``."""
    for _hop in range(MAX_REDIRECTS + 1):
        check_public_url(url)
        response = requests.get(url, allow_redirects=False, **kwargs)
        if not response.is_redirect:
            return response
        response.close()
        url = urljoin(url, response.headers["Location"])
    raise requests.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")


def public_post(url: str, **kwargs) -> requests.Response:
    """``requests.post`` to a checked URL; a redirect is not followed (it is the answer)."""
    check_public_url(url)
    return requests.post(url, allow_redirects=False, **kwargs)
