"""The one place Cradle's requests to Google leave from: the OAuth token endpoints and Drive's about.

They go through the checked session (``cradle_site.outbound``) like every outbound request;
the endpoints are the operator's settings, so ``OUTBOUND_ALLOWED_HOSTS`` may admit a double
inside the network. Drive listings and downloads stream through ``google_drive._open``.
"""

from __future__ import annotations

import requests
from django.conf import settings

from cradle_site.outbound import OutboundError, open_url, operator_hosts, read_capped

MAX_ANSWER_BYTES = 1024 * 1024  # a token or "about" answer is a few hundred bytes


class GoogleUnreachable(requests.RequestException):
    """The request failed before Google answered; ``str()`` is a plain sentence naming the host."""


def google_request(method: str, url: str, **kwargs) -> requests.Response:
    """One request to Google with its whole answer read (capped); any status is returned.

    A failure to connect or read is ``GoogleUnreachable`` (a ``RequestException``, what the
    callers already handle).
    """
    timeout = kwargs.pop("timeout", settings.PUBLISHING_HTTP_TIMEOUT)
    try:
        with open_url(
            url,
            method=method,
            timeout=timeout,
            deadline=2 * timeout,
            allowed_hosts=operator_hosts(),
            ok_statuses=None,
            **kwargs,
        ) as response:
            response._content = read_capped(response, max_bytes=MAX_ANSWER_BYTES)
            return response
    except OutboundError as exc:
        raise GoogleUnreachable(str(exc)) from None
