"""The write-role check in one place: a viewer reads, and changes nothing.

``User.can_write`` is the rule (False for ``role == viewer``). Pages enforce it with
``writer_required`` and nothing else; the API enforces it in ``accounts.api_auth.HasScope``
(DRF's own place for permissions), which refuses every unsafe method from a viewer.
``tests/site/test_write_walk.py`` walks every POST route of both and fails on a route that
is neither refused to a viewer nor named there as one a viewer may use.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def writer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 403 to an unsafe method (POST) from a user who may not write; GET passes.

    The refusal comes first, before the object is looked up, the form is read or a rate
    limit is counted, so a refused POST has no side effect at all. It is the same answer for
    every id, existing or not, so it reveals nothing about other users' objects; an editor
    who does not own the object still gets ``get_owned_or_404``'s 404. Put it under
    ``login_required``: an anonymous visitor is sent to log in, not refused.

    Not every POST needs it. A viewer may still POST what concerns only their own account,
    never the data it owns: their profile and preferences, their password, the language
    switch, logging out, and their API keys (the key form offers a viewer read scopes only,
    and revoking a key only takes access away). The public revocation page needs no account
    at all: the revocation key is the authority there, not the role of whoever holds it.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in SAFE_METHODS and not getattr(request.user, "can_write", False):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
