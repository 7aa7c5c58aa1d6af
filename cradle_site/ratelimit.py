"""A small fixed-window rate limiter on Django's cache, for pages (login, check-in, revoke).

The API has DRF throttles; pages use this. With more than one web process the cache
must be shared (set ``CACHE_REDIS_URL``), or each process counts on its own.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(scope: str, ident: str, window: int) -> str:
    bucket = int(time.time() // window)
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{bucket}"


def is_limited(scope: str, ident: str, *, limit: int, window: int) -> bool:
    """True when ``ident`` already used up ``limit`` hits in the current window."""
    return (cache.get(_key(scope, ident, window)) or 0) >= limit


def hit(scope: str, ident: str, *, window: int) -> int:
    """Count one hit and return the count in this window."""
    key = _key(scope, ident, window)
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def reset(scope: str, ident: str, *, window: int) -> None:
    cache.delete(_key(scope, ident, window))
