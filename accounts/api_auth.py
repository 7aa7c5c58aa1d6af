"""DRF authentication by API key and a permission class that enforces scopes.

Views declare ``scope_area = "messages"`` (safe methods need ``messages:read``, others
``messages:write``) or ``required_scopes = {"GET": {...}, "POST": {...}}`` for finer
control. A logged-in browser session (the browsable API) acts with the user's full rights.
"""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework import authentication, exceptions, permissions
from rest_framework.renderers import JSONRenderer

from accounts.api_keys import ApiKeyError, apikey_authenticate
from accounts.models import ApiKey
from accounts.signals import api_key_used
from cradle_site import ratelimit
from cradle_site.audit_vocabulary import ActorKind, AuditActor, request_address, set_actor
from cradle_site.ratelimit import Bucket, Rate

logger = logging.getLogger(__name__)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "api-key")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword.lower() not in self.keywords:
            return None
        if not raw.strip():
            raise exceptions.AuthenticationFailed("No API key after the Authorization keyword.")
        # Failures per client address: after the limit a wrong key is a 429 with Retry-After,
        # and so is a right one (a guesser must not learn that a guess was right).
        failures = Bucket(
            "api-key:failures", ratelimit.request_address(request), Rate.of(settings.RATE_LIMIT_API_KEY_FAILURES)
        )
        if wait := ratelimit.limited([failures]):
            raise exceptions.Throttled(wait=wait)
        try:
            api_key = apikey_authenticate(raw)
        except ApiKeyError as exc:
            ratelimit.hit(failures)
            raise exceptions.AuthenticationFailed(str(exc)) from None
        # The rest of this call is the key's doing, for the audit log (before the receivers:
        # an activity reset they make is the key's too).
        ip, agent = request_address(request)
        label = f"crd_{api_key.prefix}"
        set_actor(AuditActor(ActorKind.API_KEY, user_id=api_key.user_id, label=label, ip=ip, user_agent=agent))
        # A receiver must never fail the request that proved who is calling.
        for _receiver, result in api_key_used.send_robust(sender=type(self), api_key=api_key):
            if isinstance(result, Exception):
                logger.error("api_key_used receiver failed", exc_info=result)
        return api_key.user, api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


# A scope no key holds: the call needs a browser session (keys cannot mint or revoke keys).
SESSION_ONLY = "__session_only__"


def required_scopes_for(view, method: str) -> set[str]:
    explicit = getattr(view, "required_scopes", None)
    if explicit is not None:
        if method in explicit:
            return set(explicit[method])
        if "*" in explicit:
            return set(explicit["*"])
        # HEAD is a GET without the body (its Content-Length still tells a count) and
        # OPTIONS describes the view: both need what GET needs. Any method the view does not
        # list needs every scope it lists, so an unlisted method is never open to any key.
        if method in {"HEAD", "OPTIONS"} and "GET" in explicit:
            return set(explicit["GET"])
        return set().union(*explicit.values())
    area = getattr(view, "scope_area", None)
    if area is None:
        return set()
    return {f"{area}:read"} if method in permissions.SAFE_METHODS else {f"{area}:write"}


class HasScope(permissions.BasePermission):
    message = "This API key lacks the scope this call needs."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        needed = required_scopes_for(view, request.method)
        if isinstance(request.auth, ApiKey):
            missing = needed - request.auth.scopes
            if SESSION_ONLY in missing:
                self.message = "An API key cannot do this: log in on the site to manage API keys."
                return False
            if missing:
                self.message = f"This API key lacks the scope {', '.join(sorted(missing))}."
                return False
        if request.method not in permissions.SAFE_METHODS and not request.user.can_write:
            self.message = "Viewers cannot change anything."
            return False
        return True


# What a change answers to a key that may not read the area: the object's identity and
# where it stands, never its content (a messages:write key got the message text back from
# an empty PATCH).
# "reset" is reset-all's count: how many, not what.
WRITE_ANSWER_FIELDS = ("id", "state", "status", "status_url", "reset")


def may_read_answer(request, view) -> bool:
    """Whether the caller may see a write's full answer: a session, or a key holding what a GET needs."""
    if request is None or request.method in permissions.SAFE_METHODS or not isinstance(request.auth, ApiKey):
        return True
    return required_scopes_for(view, "GET") <= request.auth.scopes


class ScopedJSONRenderer(JSONRenderer):
    """JSON, with a write's answer cut to ``WRITE_ANSWER_FIELDS`` for a key without the read scope.

    A renderer, because it is the one step every API answer passes (views, viewset actions,
    errors); errors (4xx/5xx) are left whole: they name fields, not content."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        context = renderer_context or {}
        response = context.get("response")
        if (
            isinstance(data, dict)
            and response is not None
            and 200 <= response.status_code < 300
            and not may_read_answer(context.get("request"), context.get("view"))
        ):
            data = {key: data[key] for key in WRITE_ANSWER_FIELDS if key in data}
        return super().render(data, accepted_media_type, renderer_context)
