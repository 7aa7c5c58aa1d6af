"""The account's own preferences (time zone, language): one service for the profile page and
the header's language switch, so each change is saved and recorded the same way."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.security_events import security_event_record
from cradle_site.audit_vocabulary import EventType

PROFILE_FIELDS = ("time_zone", "language")


def profile_update(*, user: User, **fields: str) -> list[str]:
    """Save the given preferences; return the names of those that changed (one audit event if any).

    Compared with the stored row, not the instance: a bound ModelForm has already copied its
    values onto ``user`` by the time a view calls this.
    """
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"not profile fields: {', '.join(sorted(unknown))}")
    stored = User.objects.filter(pk=user.pk).values(*fields).get()
    changed = [name for name, value in fields.items() if stored[name] != value]
    for name, value in fields.items():
        setattr(user, name, value)
    if changed:
        with transaction.atomic():
            user.save(update_fields=changed)
            security_event_record(user=user, kind=EventType.PROFILE_CHANGED, changed=changed)
    return changed
