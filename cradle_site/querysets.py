"""Ownership in one place: every user-owned model's queryset answers "whose is this?".

Pages, API views and admin all go through ``owned_by(user)`` (or ``get_owned_or_404``),
so a missed filter cannot leak another user's rows. Models set ``owner_path`` to the
lookup that reaches the owning user, e.g. ``"owner"`` or ``"project__owner"``.
"""

from __future__ import annotations

from django.db import models
from django.http import Http404

# The largest id a BigAutoField holds. A filter on a larger number overflows SQLite's
# INTEGER (an OverflowError, not an empty result), so id parameters are bounded by this.
MAX_ID = 2**63 - 1


class OwnedQuerySet(models.QuerySet):
    owner_path = "owner"

    def owned_by(self, user) -> OwnedQuerySet:
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(**{self.owner_path: user})


def get_owned_or_404(queryset: OwnedQuerySet, user, **lookup):
    """The object if ``user`` owns it; 404 (never 403) otherwise, so ids do not leak."""
    try:
        return queryset.owned_by(user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError):
        raise Http404 from None
