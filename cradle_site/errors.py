"""The exceptions services raise for "not now" answers: a wrong state, or a busy database.

Services raise ``StateError`` (a message already revoked, a task already published, a task
that changed meanwhile); pages and admin actions show its text, and the API answers a 400
with the reason under the field ``state`` (``cradle_site.api.exception_handler``). Bad
input stays a ``django.core.exceptions.ValidationError`` keyed by field: the caller fixes
that by changing the request, a wrong state only by choosing another action.

``Busy`` is raised by ``cradle_site.retry.retry_on_deadlock`` when a transaction lost a
deadlock (or a lock wait) more often than it retries: nothing was saved, and the same
request a moment later will most likely go through. Pages say "try again"; the API answers
503 with ``Retry-After`` (one mapping, in ``cradle_site.api``). It is an
``OperationalError``, so a job that already handles database errors handles it too.
"""

from __future__ import annotations

from django.db import OperationalError


class StateError(Exception):
    """The object is not in a state that allows this action; the text says why."""


class Busy(OperationalError):
    """The database rolled the work back for a lock conflict it kept losing; nothing was saved."""

    # Seconds a client should wait before trying again (the API's Retry-After).
    retry_after = 2
