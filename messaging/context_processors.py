"""What every page shows about messages: the banner while a pause is in force (from the cache, no query)."""

from __future__ import annotations

from django.http import HttpRequest

from messaging import pauses


def pause_banner(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"pause_banner": pauses.banner_for(user)}
