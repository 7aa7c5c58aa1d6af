"""End a user's other sessions (after a password change), whatever the session engine.

Each log-in lists its session key in ``UserSession`` (the ``user_logged_in`` signal), and
``update_session_auth_hash`` lists the key it cycles to. Ending a session deletes it through
the configured engine's ``SessionStore`` (database, cache or cached_db alike), so it is gone
at once rather than at its next request. Sessions from before the list existed still end:
Django compares each session's password hash on its next request and flushes it.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import update_session_auth_hash, user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User, UserSession


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def session_remember(*, user: User, session_key: str | None) -> None:
    if not session_key:
        return
    UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})
    # Rows of sessions that have long expired would pile up: drop this user's old ones.
    too_old = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    UserSession.objects.filter(user=user, created_at__lt=too_old).delete()


def sessions_end_others(*, user: User, keep: str | None) -> int:
    """Delete every listed session of ``user`` except ``keep``; return how many were listed."""
    store = _store()
    keys = list(
        UserSession.objects.filter(user=user).exclude(session_key=keep or "").values_list("session_key", flat=True)
    )
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(user=user, session_key__in=keys).delete()
    return len(keys)


def session_keep_after_password_change(request: HttpRequest, user: User) -> None:
    """``update_session_auth_hash`` (this session stays signed in under a new key), listed."""
    old = request.session.session_key
    update_session_auth_hash(request, user)
    if old and old != request.session.session_key:
        UserSession.objects.filter(session_key=old).delete()
    session_remember(user=user, session_key=request.session.session_key)


@receiver(user_logged_in, dispatch_uid="accounts.user_sessions.login")
def _on_login(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    if session.session_key is None:
        session.save()  # a key now, so the list can name it
    session_remember(user=user, session_key=session.session_key)
