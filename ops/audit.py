"""Write the audit log (``ops.audit_models.AuditEvent``): ``audit_record`` is the one writer.

Each service that changes data calls it once per operation, inside the transaction of the
change (a change that rolls back leaves no event claiming it happened); pages, API views,
admin actions and tasks never call it themselves. ``accounts``, which may import no other
app, sends ``accounts.signals.audit_event`` instead: a signal is synchronous, so the receiver
below writes the row in the sender's transaction all the same.

Who acted comes from the ``actor`` argument, else from the request or job context
(``cradle_site.audit_vocabulary.current_actor``), else ``system``. A signed-in person acting
on someone else's data is recorded as ``staff``.

It never raises for a bad address or a long user agent, and it drops any ``extra_data`` key
that names a secret (``SECRET_WORDS``): a record must not break, nor leak, what it records.

Retention: ``audit_purge`` (``purge_logs --table=audit``) deletes rows older than
``AUDIT_RETENTION_DAYS`` and is the only code allowed to; ``purging()`` tells the tests'
append-only guard (tests/conftest.py) that the deletes it sees are the purge's.
"""

from __future__ import annotations

import contextvars
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from accounts.signals import audit_event
from cradle_site.audit_vocabulary import (
    LABEL_MAX,
    SECRET_WORDS,
    SYSTEM,
    USER_AGENT_MAX,
    ActorKind,
    AuditActor,
    EventType,
    current_actor,
    note_recorded,
)
from ops.audit_models import AuditEvent

_purging = contextvars.ContextVar("cradle_audit_purging", default=False)


def _clean(data: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (data or {}).items() if not any(word in k.lower() for word in SECRET_WORDS)}


def _user_id(user) -> int | None:
    if user is None:
        return None
    return user if isinstance(user, int) else user.pk


def audit_record(
    event_type: str,
    *,
    user=None,
    obj=None,
    label: str = "",
    actor: AuditActor | None = None,
    changed: list[str] | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Append one event of ``event_type`` about ``user`` (a User, an id, or None for the site).

    ``obj`` is the row it is about (type and id are taken from it; or a ``(Model, pk)`` pair
    when the caller holds no instance); ``label`` a short
    non-secret name for it; ``changed`` the names of the fields that changed (never values).
    """
    actor = actor or current_actor() or SYSTEM
    subject_id = _user_id(user)
    kind, label_of_actor = actor.kind, actor.label
    if kind == ActorKind.USER and actor.user_id is not None and subject_id is not None and actor.user_id != subject_id:
        kind = ActorKind.STAFF  # someone signed in acting on another's data: only staff can
    elif kind == ActorKind.USER and actor.user_id == subject_id:
        label_of_actor = ""  # "you": the user's own name is not news to them
    extra = _clean(data)
    if changed is not None:
        extra["fields"] = sorted({str(name) for name in changed})[:40]
    ip = actor.ip
    model, pk = obj if isinstance(obj, tuple) else (obj, getattr(obj, "pk", None))
    if model is not None and pk is not None:
        note_recorded(model._meta.label_lower, str(pk))
    return AuditEvent.objects.create(
        user_id=subject_id,
        event_type=event_type,
        created_at=now or timezone.now(),
        actor_kind=kind,
        actor_id=actor.user_id,
        actor_label=label_of_actor[:LABEL_MAX],
        object_type=model._meta.label_lower if model is not None else "",
        object_id=str(pk) if pk is not None else "",
        object_label=str(label)[:LABEL_MAX],
        ip=ip or None,
        user_agent=(actor.user_agent or "")[:USER_AGENT_MAX],
        extra_data=extra,
    )


@receiver(audit_event, dispatch_uid="ops.audit.accounts")
def _from_accounts(sender, *, event_type: str, signal=None, **kwargs) -> AuditEvent:
    """``accounts`` speaks through the signal (it imports no other app); same transaction."""
    return audit_record(event_type, **kwargs)


def audit_events_of(user):
    """The user's events, newest first (``audit_user_created_idx``)."""
    return AuditEvent.objects.owned_by(user).order_by("-created_at", "-id")


def purging() -> bool:
    return _purging.get()


def audit_purge(*, batch_size: int = 5000, dry_run: bool = False, now: datetime | None = None, progress=None):
    """Delete audit events older than ``AUDIT_RETENTION_DAYS``, in short batches; return the tally.

    The cut-off is the setting's, never a caller's: nothing may shorten the audit log's life.
    """
    from ops.purge import PurgeResult

    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    result = PurgeResult(table="audit", cutoff=cutoff, dry_run=dry_run)
    old = AuditEvent._base_manager.filter(created_at__lt=cutoff)
    if dry_run:
        result.rows = old.count()
        return result
    token = _purging.set(True)
    try:
        while True:
            started = time.perf_counter()
            with transaction.atomic():
                pks = list(old.order_by("pk").values_list("pk", flat=True)[:batch_size])
                if not pks:
                    break
                # The listed keys only: a row written meanwhile is young and outside the range
                # filter anyway; ``_raw_delete`` is the one way past the queryset's refusal.
                old.filter(pk__in=pks)._raw_delete(AuditEvent._base_manager.db)
            result.rows += len(pks)
            result.batches += 1
            result.max_batch_s = max(result.max_batch_s, time.perf_counter() - started)
            if progress:
                progress(result)
    finally:
        _purging.reset(token)
    if result.rows:
        audit_record(EventType.AUDIT_PURGED, data={"rows": result.rows, "cutoff": cutoff.isoformat()})
    return result
