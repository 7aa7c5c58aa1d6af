"""Every request to X goes through a session from here: one timeout, and one switch
(``PUBLISHING_X_BASE_URL``) that sends the X hosts to a local double in tests and staging.
tweepy builds and signs each request itself; only the host changes."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

X_HOSTS = {"api.twitter.com", "upload.twitter.com", "api.x.com", "upload.x.com"}


class _XAdapter(HTTPAdapter):
    def __init__(self, base_url: str, timeout: float):
        super().__init__()
        self.base_url = base_url
        self.timeout = timeout

    def send(self, request, timeout=None, **kwargs):
        if self.base_url:
            parts = urlsplit(request.url)
            if parts.hostname in X_HOSTS:
                request.url = self.base_url + request.url[len(f"{parts.scheme}://{parts.netloc}") :]
        return super().send(request, timeout=timeout or self.timeout, **kwargs)


def install_adapter(session: requests.Session) -> requests.Session:
    adapter = _XAdapter(settings.PUBLISHING_X_BASE_URL, settings.PUBLISHING_HTTP_TIMEOUT)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def x_session() -> requests.Session:
    return install_adapter(requests.Session())
