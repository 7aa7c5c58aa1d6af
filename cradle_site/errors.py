"""The one exception for "this object's state does not allow that action".

Services raise ``StateError`` (a message already revoked, a task already published, a task
that changed meanwhile); pages and admin actions show its text, and the API answers a 400
with the reason under the field ``state`` (``cradle_site.api.exception_handler``). Bad
input stays a ``django.core.exceptions.ValidationError`` keyed by field: the caller fixes
that by changing the request, a wrong state only by choosing another action.
"""

from __future__ import annotations


class StateError(Exception):
    """The object is not in a state that allows this action; the text says why."""
