"""What a failed outbound request tells the user, and what it tells the log.

One function, ``outbound_failure``, turns any exception of an outbound HTTP request (ours,
requests', urllib3's, the socket's) into an ``OutboundError``: a ``kind`` from a short
vocabulary and one plain sentence naming only the host ("Couldn't reach feeds.example.org
— check the address."). The sentence is what ``last_error``, flashes, the admin and the API
show. It never carries the URL (a query string may hold a key: Drive's ``key=AIza…`` came
back through the API), a connection-pool repr, or the socket's own words: "connection
refused", "reset by peer" and "remote end closed" are the same sentence, or the difference
would map which ports are open inside a network. The full text goes to the server log, with
query strings and credentials redacted (``redact``).
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
from enum import StrEnum

import requests
import urllib3.exceptions
from django.utils.translation import gettext as _
from urllib3.util import parse_url

log = logging.getLogger("cradle_site.outbound")


class Kind(StrEnum):
    """Why an outbound request failed; stored nowhere as free text, so it is a vocabulary."""

    INVALID_URL = "invalid_url"  # not an unambiguous http(s) address
    REFUSED_ADDRESS = "refused_address"  # the host is, or resolves to, an address inside the network
    UNREACHABLE = "unreachable"  # no such host, or no connection to it
    TIMEOUT = "timeout"  # no answer, or not all of it, in time
    TOO_LARGE = "too_large"  # the answer is bigger than we read
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BAD_ANSWER = "bad_answer"  # an HTTP status we cannot use, or a broken answer
    TLS = "tls"  # no trusted secure connection


class OutboundError(Exception):
    """An outbound request failed. ``str()`` is the sentence a user may see."""

    def __init__(self, kind: Kind, message: str, *, status: int | None = None, may_have_arrived: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        # True when the request had been written before it failed (a webhook may have acted on it).
        self.may_have_arrived = may_have_arrived


class UnsafeURL(OutboundError):
    """Refused before any connection: an ambiguous URL, or an address inside the network.

    Not an ``OSError`` on purpose: urllib3 would wrap one raised while connecting into a
    generic connection error and lose the reason.
    """


def host_of(url: str) -> str:
    """The host of ``url`` for a sentence (no scheme, port, path or query), or "the address"."""
    try:
        host = parse_url(url.strip()).host or ""
    except (ValueError, urllib3.exceptions.LocationParseError):
        host = ""
    host = re.sub(r"[^0-9A-Za-z.\-:\[\]_]", "", host)[:100]
    return host or _("the address")


def refused_address(host: str) -> UnsafeURL:
    return UnsafeURL(
        Kind.REFUSED_ADDRESS,
        _("%(host)s is an address inside this server's network; give a public address.") % {"host": host},
    )


def invalid_url(reason: str) -> UnsafeURL:
    return UnsafeURL(Kind.INVALID_URL, reason)


def unreachable(host: str) -> OutboundError:
    return OutboundError(Kind.UNREACHABLE, _("Couldn't reach %(host)s — check the address.") % {"host": host})


def timed_out(host: str, *, may_have_arrived: bool = False) -> OutboundError:
    return OutboundError(
        Kind.TIMEOUT, _("%(host)s took too long to answer.") % {"host": host}, may_have_arrived=may_have_arrived
    )


def too_large(host: str, limit: int) -> OutboundError:
    return OutboundError(
        Kind.TOO_LARGE,
        _("%(host)s sent more than the %(limit)s bytes allowed.") % {"host": host, "limit": f"{limit:,}"},
    )


def bad_status(host: str, status: int) -> OutboundError:
    return OutboundError(
        Kind.BAD_ANSWER, _("%(host)s answered HTTP %(status)s.") % {"host": host, "status": status}, status=status
    )


def _may_have_arrived(exc: BaseException) -> bool:
    """Whether the request had left when ``exc`` happened, so the receiver may have acted on it.

    A connect timeout and a connection that never opened (refused, DNS, TLS: requests wraps
    those in urllib3's ``MaxRetryError``) sent nothing. A read timeout, a connection dropped
    while we waited for the answer, or an answer cut off midway came after the request was
    written.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ReadTimeout | requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(exc, requests.ConnectionError):
        return not (exc.args and isinstance(exc.args[0], urllib3.exceptions.MaxRetryError))
    return False


def outbound_failure(exc: BaseException, *, url: str, deadline_passed: bool = False) -> OutboundError:
    """The ``OutboundError`` for any exception of a request to ``url``; the full text is logged.

    ``deadline_passed``: the request's wall-clock deadline cut the connection, so whatever
    the socket said, the far end was too slow.
    """
    if isinstance(exc, OutboundError):
        return exc
    host = host_of(url)
    arrived = _may_have_arrived(exc)
    if deadline_passed:
        error = timed_out(host, may_have_arrived=arrived or not isinstance(exc, requests.ConnectTimeout))
    elif isinstance(exc, requests.TooManyRedirects):
        error = OutboundError(Kind.TOO_MANY_REDIRECTS, _("%(host)s redirected too many times.") % {"host": host})
    elif isinstance(exc, requests.exceptions.SSLError | ssl.SSLError | urllib3.exceptions.SSLError):
        error = OutboundError(Kind.TLS, _("Couldn't make a secure connection to %(host)s.") % {"host": host})
    elif isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | socket.timeout | TimeoutError):
        error = timed_out(host, may_have_arrived=arrived)
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        error = OutboundError(
            Kind.BAD_ANSWER, _("%(host)s sent a broken answer.") % {"host": host}, may_have_arrived=True
        )
    elif isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema | ValueError):
        error = invalid_url(_("Give an http:// or https:// address."))
    else:  # refused, reset, closed, no route, any other socket or protocol error: one sentence
        error = unreachable(host)
        error.may_have_arrived = arrived
    log.warning("outbound request to %s failed (%s): %s", redact(url), error.kind, redact(f"{exc!r}"))
    return error


def describe(exc: BaseException, *, url: str) -> tuple[Kind, str]:
    """``(kind, sentence)`` for any exception of a request to ``url``."""
    error = outbound_failure(exc, url=url)
    return error.kind, error.message


_QUERY = re.compile(r"(?P<base>[a-z][a-z0-9+.-]*://[^\s?#'\"]*)\?[^\s#'\"]*", re.IGNORECASE)
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^\s/@'\"]*@", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"(?P<name>\b(?:key|api_key|apikey|token|access_token|refresh_token|secret|password|signature|sig)=)[^&\s'\"]+",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<name>Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` for the log: URLs without their query string or user info, credentials blanked."""
    text = _QUERY.sub(r"\g<base>?[redacted]", text)
    text = _USERINFO.sub(r"\g<scheme>[redacted]@", text)
    text = _SECRET_PARAM.sub(r"\g<name>[redacted]", text)
    return _BEARER.sub(r"\g<name>[redacted]", text)
