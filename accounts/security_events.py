"""Record security events (``accounts.security_models.SecurityEvent``) and list them.

``security_event_record`` is the one writer: the log-in signal, the login guard, the e-mail
and password services, the API key services, the admin and (at merge) the two-factor pages
all call it. It never raises for a bad address or a long user agent: a security record must
not break the action it records. It is written in the caller's transaction, so an action
that rolls back leaves no event claiming it happened.

Staff actions on a user's data are caught where the admin writes its own change log
(``LogEntry``): every add, change and delete through an admin page of a row that belongs to
a user other than the staff member becomes a ``staff.user_data_changed`` event for that user.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any

from django.contrib.auth import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework.request import Request

from accounts.security_models import USER_AGENT_MAX, SecurityEvent
from cradle_site import ratelimit

log = logging.getLogger(__name__)
Kind = SecurityEvent.Kind
ActorKind = SecurityEvent.ActorKind

# Keys that never go into ``data`` whatever a caller passes (a last line of defence).
_SECRET_WORDS = ("password", "secret", "token", "key_hash", "code")


def _ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    address = ratelimit.client_ip(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _clean(data: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (data or {}).items() if not any(word in k.lower() for word in _SECRET_WORDS)}


def security_event_record(
    *,
    user,
    kind: str,
    request: HttpRequest | None = None,
    data: dict[str, Any] | None = None,
    actor=None,
    actor_kind: str | None = None,
    actor_label: str = "",
    obj=None,
) -> SecurityEvent:
    """Append one event about ``user``.

    The actor defaults to the request's signed-in person: ``user`` themself, or ``staff`` when
    someone else acts on the account; an API key's request names the key (``actor_label`` is
    its prefix). ``obj`` names the row the event is about (``object_type``/``object_id``).
    """
    if request is not None and actor is None and getattr(request, "user", None) is not None:
        if request.user.is_authenticated:
            actor = request.user
    # A DRF request authenticated by an API key carries the key (accounts.api_auth).
    auth = request.auth if isinstance(request, Request) else None
    if actor_kind is None:
        if auth is not None and getattr(auth, "prefix", None):
            actor_kind, actor_label = ActorKind.API_KEY, actor_label or f"crd_{auth.prefix}"
        elif actor is None:
            actor_kind = ActorKind.SYSTEM if request is None else ActorKind.ANONYMOUS
        elif actor.pk == user.pk:
            actor_kind = ActorKind.USER
        else:
            actor_kind = ActorKind.STAFF
    if actor is not None and not actor_label and actor.pk != user.pk:
        actor_label = actor.get_username()[:150]
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    return SecurityEvent.objects.create(
        user=user,
        kind=kind,
        actor_kind=actor_kind,
        actor=actor,
        actor_label=actor_label,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip=_ip(request),
        user_agent=agent[:USER_AGENT_MAX],
        data=_clean(data),
    )


def security_events_of(user):
    """The user's events, newest first (``secevent_user_created_idx``)."""
    return SecurityEvent.objects.filter(user=user).order_by("-created_at", "-id")


@receiver(user_logged_in, dispatch_uid="accounts.security_events.login")
def _on_login(sender, request, user, **kwargs) -> None:
    admin_login = request is not None and request.path.startswith("/admin/")
    security_event_record(user=user, kind=Kind.LOGIN, request=request, actor=user, data={"admin": admin_login})


def _owner_of(obj):
    """The account a back-office row belongs to (the row's ``owner`` or ``user``, or its message's)."""
    from accounts.models import User

    if isinstance(obj, User):
        return obj
    for path in ("owner", "user", "message", "project"):
        target = getattr(obj, path, None)
        if isinstance(target, User):
            return target
        if target is not None and path in ("message", "project"):
            return _owner_of(target)
    return None


@receiver(post_save, sender="admin.LogEntry", dispatch_uid="accounts.security_events.admin_log")
def _on_admin_change(sender, instance, created, **kwargs) -> None:
    """A staff member added, changed or deleted a row of someone's data in the admin."""
    if not created:
        return
    try:
        obj = instance.get_edited_object()
    except Exception:  # the row is gone (deleted before the entry) or its model was removed
        return
    owner = _owner_of(obj)
    if owner is None or owner.pk == instance.user_id:
        return
    action = {1: "added", 2: "changed", 3: "deleted"}.get(instance.action_flag, "changed")
    SecurityEvent.objects.create(
        user=owner,
        kind=Kind.STAFF_CHANGED_DATA,
        actor_kind=ActorKind.STAFF,
        actor_id=instance.user_id,
        actor_label=instance.user.get_username()[:150],
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        data={"action": action, "object": instance.object_repr[:200], "fields": _changed_fields(instance)},
    )


def _changed_fields(entry) -> list[str]:
    try:
        messages = json.loads(entry.change_message or "[]")
    except ValueError:
        return []
    fields: list[str] = []
    for item in messages if isinstance(messages, list) else []:
        changed = item.get("changed") if isinstance(item, dict) else None
        if isinstance(changed, dict):
            fields.extend(str(name) for name in changed.get("fields", []))
    return fields[:20]
