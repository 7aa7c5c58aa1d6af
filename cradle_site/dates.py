"""The calendar window Cradle accepts dates and times in: years 2000 to 2999.

Python's datetime ends at years 1 and 9999, so a value near either end overflows when it
is moved to UTC for the database, shifted by a day for a range, or shown in a viewer's
time zone (an ``OverflowError``, a 500). Nothing Cradle schedules, expires or charts is
that far away, so input outside the window is refused with a reason instead.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def out_of_window_reason() -> str:
    return _("Choose a date between %(first)s and %(last)s.") % {
        "first": FIRST_DAY.isoformat(),
        "last": LAST_DAY.isoformat(),
    }


def in_window(value: date | datetime) -> bool:
    # An aware datetime's own calendar day: inside the window, no time zone can push it out.
    day = value.date() if isinstance(value, datetime) else value
    return FIRST_DAY <= day <= LAST_DAY


def validate_in_window(value: date | datetime | None) -> None:
    """A form / serializer field validator (``None`` passes: optional fields)."""
    if value is not None and not in_window(value):
        raise ValidationError(out_of_window_reason(), code="out_of_window")
