"""A read replica (``DATABASE_REPLICA_URL``) for the heavy read-only pages.

Only what is marked reads from the replica: the statistics pages and CSV exports
(``@read_from_replica``) and the admin's read-only log lists (``ReplicaListMixin``), and
there only the models of ``REPLICA_APPS`` — sessions, users, keys and the rest always come
from the primary, so a log-in just written is never missing. Everything else, and every
write, goes to the primary. The replica is skipped (the primary answers) when:

- it is down, or not replicating (``SHOW SLAVE STATUS`` empty, or its SQL thread stopped);
- it lags more than DATABASE_REPLICA_MAX_LAG_SECONDS behind the primary;
- the visitor wrote something in the last DATABASE_REPLICA_PIN_SECONDS (a cookie set by
  ``ReplicaPinMiddleware`` when a request wrote to a replicated app): whoever just wrote
  never sees a page without their write.

The replica's state is checked at most every DATABASE_REPLICA_CHECK_SECONDS per process.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from django.conf import settings
from django.db import DatabaseError, connections

REPLICA = "replica"
REPLICA_APPS = frozenset({"analytics", "publishing", "messaging", "ops"})
PIN_COOKIE = "cradle_primary_until"

_reading = ContextVar("cradle_replica_reading", default=False)
_wrote = ContextVar("cradle_replica_wrote", default=False)
_state: dict = {"checked": -1e9, "usable": False, "why": "not checked"}


def replica_configured() -> bool:
    return bool(settings.DATABASE_REPLICA_URL) and REPLICA in settings.DATABASES


def replica_status(*, fresh: bool = False) -> tuple[bool, str]:
    """(usable, why): whether reads may go to the replica now."""
    if not replica_configured():
        return False, "no replica configured"
    now = time.monotonic()
    if fresh or now - _state["checked"] >= settings.DATABASE_REPLICA_CHECK_SECONDS:
        usable, why = _check()
        _state.update(checked=now, usable=usable, why=why)
    return _state["usable"], _state["why"]


def _check() -> tuple[bool, str]:
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW SLAVE STATUS")
            row = cursor.fetchone()
            columns = [column[0] for column in cursor.description or ()]
    except DatabaseError as exc:
        connection.close()  # reconnect at the next check
        return False, f"down ({exc.__class__.__name__})"
    if row is None:
        return False, "not replicating"
    return lag_verdict(dict(zip(columns, row, strict=False)).get("Seconds_Behind_Master"))


def lag_verdict(lag: int | None) -> tuple[bool, str]:
    if lag is None:
        return False, "replication stopped"
    if lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
        return False, f"lags {lag} s"
    return True, f"lags {lag} s"


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reading.get() and model._meta.app_label in REPLICA_APPS and replica_status()[0]:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        if model._meta.app_label in REPLICA_APPS:
            _wrote.set(True)
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA


def _pinned(request) -> bool:
    try:
        return float(request.COOKIES.get(PIN_COOKIE, "0")) > time.time()
    except ValueError:
        return False


def _in_replica(iterator) -> Iterator:
    """Each step of a streamed response reads from the replica (the view has returned by then)."""
    source = iter(iterator)
    while True:
        token = _reading.set(True)
        try:
            chunk = next(source)
        except StopIteration:
            return
        finally:
            _reading.reset(token)
        yield chunk


def read_from_replica(view: Callable) -> Callable:
    """A GET of this view (its template and a streamed body too) reads from the replica."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or not replica_configured() or _pinned(request):
            return view(request, *args, **kwargs)
        token = _reading.set(True)
        try:
            response = view(request, *args, **kwargs)
            if getattr(response, "is_rendered", True) is False:
                response.render()  # an admin TemplateResponse runs its queries here
        finally:
            _reading.reset(token)
        if getattr(response, "streaming", False):
            response.streaming_content = _in_replica(response.streaming_content)
        return response

    return wrapper


class ReplicaListMixin:
    """For a read-only ModelAdmin: its list page reads from the replica."""

    def changelist_view(self, request, extra_context=None):
        return read_from_replica(super().changelist_view)(request, extra_context)


class ReplicaPinMiddleware:
    """After a request that wrote, the visitor reads from the primary for a while (a cookie)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _wrote.set(False)
        try:
            response = self.get_response(request)
            wrote = _wrote.get()
        finally:
            _wrote.reset(token)
        if wrote and replica_configured():
            seconds = settings.DATABASE_REPLICA_PIN_SECONDS
            response.set_cookie(
                PIN_COOKIE,
                f"{time.time() + seconds:.0f}",
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response
