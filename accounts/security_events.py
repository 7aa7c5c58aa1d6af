"""Accounts' side of the audit log: its security events, sent to ``ops.audit``.

``security_event_record`` is accounts' one writer: the log-in signal, the login guard, the
e-mail and password services, the API key services, the two-factor services and the admin
call it. ``accounts`` may import no other app, so it sends ``accounts.signals.audit_event``;
``ops.audit`` receives it and appends the ``ops.AuditEvent`` row in the caller's transaction
(signals are synchronous), so an action that rolls back leaves no event claiming it happened.
The vocabulary is ``cradle_site.audit_vocabulary`` (``Kind`` is its ``EventType``).

Staff actions on a user's data are caught where the admin writes its own change log
(``LogEntry``): every add, change and delete through an admin page of a row that belongs to
a user other than the staff member becomes a ``staff.user_data_changed`` event for that user,
naming the changed fields (never their values).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib.auth import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework.request import Request

from accounts.signals import audit_event
from cradle_site.audit_vocabulary import (
    LABEL_MAX,
    ActorKind,
    AuditActor,
    EventType,
    actor_from_request,
    already_recorded,
    current_actor,
)

log = logging.getLogger(__name__)
Kind = EventType


def _actor(request, actor, actor_kind: str | None, actor_label: str) -> AuditActor | None:
    """The explicit actor a caller names, on the request's address; None: the context's."""
    if request is None and actor is None and actor_kind is None:
        return None  # the context says (a job, a request further up, or the system)
    auth = request.auth if isinstance(request, Request) else None
    if actor_kind is None and auth is not None and getattr(auth, "prefix", None):
        actor_kind, actor_label = ActorKind.API_KEY, actor_label or f"crd_{auth.prefix}"
        actor = actor or auth.user
    if request is not None:
        base = actor_from_request(request, user=actor)
    else:
        context = current_actor()
        ip, agent = (context.ip, context.user_agent) if context else (None, "")
        base = AuditActor(ActorKind.USER if actor else ActorKind.SYSTEM, ip=ip, user_agent=agent)
    if actor is not None:
        base = AuditActor(
            base.kind if base.kind != ActorKind.ANONYMOUS else ActorKind.USER,
            user_id=actor.pk,
            label=actor.get_username()[:LABEL_MAX],
            ip=base.ip,
            user_agent=base.user_agent,
        )
    if actor_kind is not None:
        base = base.with_kind(actor_kind, actor_label)
    return base


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
    label: str = "",
    changed: list[str] | None = None,
):
    """Append one event about ``user``; return the ``ops.AuditEvent`` row (None if ops is absent).

    The actor defaults to the request's signed-in person (``staff`` when someone else acts on
    the account), an API key's request names the key (``crd_<prefix>``); without a request,
    the context's (``cradle_site.audit_vocabulary.current_actor``). ``obj`` names the row.
    """
    responses = audit_event.send(
        sender=None,
        event_type=kind,
        user=user,
        obj=obj,
        label=label,
        actor=_actor(request, actor, actor_kind, actor_label),
        changed=changed,
        data=data,
    )
    return next((row for _receiver, row in responses if row is not None), None)


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
    if already_recorded(obj._meta.label_lower, str(obj.pk)):
        return  # the service the admin called recorded this change itself (one event per operation)
    owner = _owner_of(obj)
    if owner is None or owner.pk == instance.user_id:
        return
    action = {1: "added", 2: "changed", 3: "deleted"}.get(instance.action_flag, "changed")
    staff = AuditActor(ActorKind.STAFF, user_id=instance.user_id, label=instance.user.get_username()[:LABEL_MAX])
    context = current_actor()
    if context is not None:  # the admin page's request: its address and browser
        staff = AuditActor(staff.kind, staff.user_id, staff.label, ip=context.ip, user_agent=context.user_agent)
    audit_event.send(
        sender=None,
        event_type=Kind.STAFF_CHANGED_DATA,
        user=owner,
        obj=obj,
        label=instance.object_repr,  # every model's str() is non-secret (a message is "Message #12")
        actor=staff,
        changed=_changed_fields(instance),
        data={"action": action},
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
