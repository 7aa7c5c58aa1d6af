"""The personal check-in URL (healthchecks-style): ``POST /ping/<token>`` says "I'm still here".

Each owner has at most one token (``PingToken``): 192 random bits, shown once, stored only as
an HMAC keyed by ``SECRET_KEY`` (like API keys: a leaked table cannot be tried offline), found
by a unique index. Creating it again rotates it: the old URL stops working at once. Creating,
rotating and deleting are security events (``accounts.security_events``), and the settings
page asks for a recent log-in first (``accounts.reauth``).

A check-in resets every waiting (ACTIVE) message of the owner (``messages_reset_all``) or one
of them; the history says it came by the ping URL. The API's ``POST /api/v1/checkin`` (scope
``messages:checkin``) calls the same ``checkin_reset``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.security_events import Kind, security_event_record
from cradle_site.errors import StateError
from messaging import history, services
from messaging.models import Message, PingToken

TOKEN_BYTES = 24
TOKEN_MAX_LENGTH = 64  # longer is junk: refused without hashing


class NoSuchMessage(LookupError):
    """The owner has no message with that id."""


@dataclass(frozen=True)
class NewPingToken:
    token: PingToken
    secret: str  # to show once

    @property
    def url(self) -> str:
        return ping_url(self.secret)


def token_hash(secret: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"ping:{secret}".encode(), hashlib.sha256).hexdigest()


def ping_url(secret: str) -> str:
    return settings.SITE_URL + reverse("ping", args=[secret])


def ping_token_of(owner) -> PingToken | None:
    return PingToken.objects.filter(owner=owner).first()


def ping_token_create(*, owner, request: HttpRequest | None = None) -> NewPingToken:
    """A new check-in URL for ``owner``; one that existed stops working (a rotation)."""
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        existing = PingToken.objects.select_for_update().filter(owner=owner).first()
        if existing is None:
            token = PingToken.objects.create(owner=owner, token_hash=token_hash(secret))
            kind = Kind.PING_TOKEN_CREATED
        else:
            existing.token_hash = token_hash(secret)
            existing.created_at = timezone.now()
            existing.last_used_at = None
            existing.save(update_fields=["token_hash", "created_at", "last_used_at"])
            token, kind = existing, Kind.PING_TOKEN_ROTATED
        security_event_record(user=owner, kind=kind, request=request, obj=token)
    return NewPingToken(token=token, secret=secret)


def ping_token_delete(*, owner, request: HttpRequest | None = None) -> bool:
    """Delete the owner's check-in URL; True if there was one."""
    with transaction.atomic():
        token = PingToken.objects.select_for_update().filter(owner=owner).first()
        if token is None:
            return False
        security_event_record(user=owner, kind=Kind.PING_TOKEN_DELETED, request=request, obj=token)
        token.delete()
    return True


def ping_token_find(secret: str) -> PingToken | None:
    """The check-in URL's row (with its owner), or None: unknown, rotated, deleted, junk, or a disabled account."""
    if not secret or len(secret) > TOKEN_MAX_LENGTH:
        return None
    token = PingToken.objects.select_related("owner").filter(token_hash=token_hash(secret)).first()
    if token is None or not token.owner.is_active:
        return None
    return token


def ping_token_used(token: PingToken) -> None:
    """Note a check-in that went through (the settings page shows when)."""
    token.last_used_at = timezone.now()
    PingToken.objects.filter(pk=token.pk).update(last_used_at=token.last_used_at)


def checkin_reset(*, owner, message_id: int | None = None, actor: history.Actor = history.PING_URL) -> int:
    """Reset every waiting message of ``owner`` (or the one ``message_id``); return how many.

    One message: ``NoSuchMessage`` when the owner has none with that id, ``StateError`` when it
    is not waiting (delivered, revoked). ``Busy`` as the services raise it: nothing saved.
    """
    if message_id is None:
        return services.messages_reset_all(owner=owner, actor=actor)
    message = Message.objects.owned_by(owner).filter(pk=message_id).first()
    if message is None:
        raise NoSuchMessage(message_id)
    if message.state != Message.State.ACTIVE:
        raise StateError(_("This message is no longer on its warning schedule."))
    services.message_reset(message=message, actor=actor)
    return 1
