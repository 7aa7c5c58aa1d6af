"""API key services: create (secret shown once), revoke, authenticate."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import scopes as scope_vocabulary
from accounts.models import ApiKey, User
from accounts.security_events import Kind, security_event_record

KEY_PREFIX = "crd"


class ApiKeyError(Exception):
    """Authentication failed; the message is safe to show the client."""


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    secret: str  # the full key, to show once


def validate_expiry(value: datetime | None) -> None:
    """Field validator for a new key's expiry (forms and serializers): later than now."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if value is not None and value <= timezone.now():
        raise ValidationError(_("The expiry must be in the future."), code="in_past")


def _hash(secret: str) -> str:
    # Keyed so a leaked table cannot be brute-forced without the server's SECRET_KEY.
    return hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()


def apikey_create(
    *,
    user: User,
    name: str,
    permissions: list[str],
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> NewApiKey:
    normalised = scope_vocabulary.normalise(permissions)
    for _attempt in range(5):
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    user=user,
                    name=name,
                    prefix=prefix,
                    key_hash=_hash(secret),
                    permissions=normalised,
                    expires_at=expires_at,
                )
                security_event_record(
                    user=user,
                    kind=Kind.API_KEY_CREATED,
                    request=request,
                    obj=api_key,
                    data={"name": name, "prefix": prefix, "scopes": normalised},
                )
        except IntegrityError:
            continue  # prefix collision: draw again
        return NewApiKey(api_key=api_key, secret=f"{KEY_PREFIX}_{prefix}_{secret}")
    raise RuntimeError("could not allocate a unique API key prefix")


def apikey_revoke(*, api_key: ApiKey, request: HttpRequest | None = None) -> bool:
    """Revoke; True if this call revoked it (False if it already was).

    ``request`` names who did it for the security event (the owner, or staff in the admin).
    """
    with transaction.atomic():
        updated = ApiKey.objects.filter(pk=api_key.pk, is_active=True).update(
            is_active=False, revoked_at=timezone.now()
        )
        if updated:
            security_event_record(
                user=api_key.user,
                kind=Kind.API_KEY_REVOKED,
                request=request,
                obj=api_key,
                data={"name": api_key.name, "prefix": api_key.prefix},
            )
    api_key.refresh_from_db(fields=["is_active", "revoked_at"])
    return bool(updated)


def apikey_authenticate(raw: str) -> ApiKey:
    """The ApiKey for ``raw``, or ``ApiKeyError`` with a message for the client."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        raise ApiKeyError("Malformed API key: expected crd_<prefix>_<secret>.")
    _, prefix, secret = parts
    api_key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    # Hash even when no row matched so timing does not reveal valid prefixes.
    expected = api_key.key_hash if api_key else _hash("no-such-key")
    if not hmac.compare_digest(_hash(secret), expected) or api_key is None:
        raise ApiKeyError("Invalid API key.")
    if not api_key.is_active:
        raise ApiKeyError("This API key has been revoked.")
    if api_key.is_expired:
        raise ApiKeyError("This API key has expired.")
    if not api_key.user.is_active:
        raise ApiKeyError("The account that owns this API key is disabled.")
    _touch(api_key)
    return api_key


def _touch(api_key: ApiKey) -> None:
    """Record use, at most once per resolution window, with a conditional update."""
    now = timezone.now()
    threshold = now - settings.API_KEY_LAST_USED_RESOLUTION
    if api_key.last_used is None or api_key.last_used < threshold:
        from django.db.models import Q

        ApiKey.objects.filter(pk=api_key.pk).filter(Q(last_used__isnull=True) | Q(last_used__lt=threshold)).update(
            last_used=now
        )
        api_key.last_used = now
