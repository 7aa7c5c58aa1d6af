"""The one place Cradle's requests to Google leave from: the OAuth token endpoints and Drive v3.

Kept to one function so the outbound policy (``cradle_site.outbound``) applies to every
Google call by changing one line.
"""

from __future__ import annotations

import requests
from django.conf import settings


def google_request(method: str, url: str, **kwargs) -> requests.Response:
    """``requests.request`` with the publishing timeout; the caller handles status and errors."""
    kwargs.setdefault("timeout", settings.PUBLISHING_HTTP_TIMEOUT)
    return requests.request(method, url, **kwargs)
