"""A status log's details as the owner reads them: in their language, times in their zone.

The database keeps the English the services and the sweep write (the admin and the API
show it as stored, for the audit). The pages read it through these patterns; text that
no pattern knows, such as an error from a mail server, is shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _


def _when(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


# Each pattern matches one English text written in messaging (sweep.py, services.py,
# delivery.py, admin.py); its function gives the translation.
PATTERNS: list[tuple[re.Pattern, Callable[[dict], str]]] = [
    (
        re.compile(r"warning (?P<level>\d) sent; next step at (?P<when>\S+)"),
        lambda m: _("Warning %(level)s sent; next step at %(when)s.") % {**m, "when": _when(m["when"])},
    ),
    (re.compile(r"reset from level (?P<level>\d)"), lambda m: _("Reset from level %(level)s.") % m),
    (
        re.compile(r"reset with all messages, from level (?P<level>\d)"),
        lambda m: _("Reset with all messages, from level %(level)s.") % m,
    ),
    (re.compile(r"continue at level (?P<level>\d)"), lambda m: _("Continued at level %(level)s.") % m),
    (re.compile(r"revoked by the owner"), lambda m: _("Revoked by the owner.")),
    (re.compile(r"revoked with the revocation key"), lambda m: _("Revoked with the revocation key.")),
    (re.compile(r"by staff \((?P<name>.+)\)"), lambda m: _("By staff (%(name)s).") % m),
    (
        re.compile(r"delivered to (?P<count>\d+) recipient\(s\)"),
        lambda m: _("Delivered to %(count)s recipient(s).") % m,
    ),
    (re.compile(r"no recipients"), lambda m: _("There was no one to deliver to.")),
    (
        re.compile(
            r"recipient (?P<name>.+) \((?P<channel>\w+)\), attempt (?P<attempt>\d+)(?P<final> \(giving up; staff can retry\))?: (?P<error>.*)",
            re.S,
        ),
        lambda m: (
            (
                _(
                    "%(name)s (%(channel)s), attempt %(attempt)s failed; Cradle has stopped trying and staff can retry: %(error)s"
                )
                if m["final"]
                else _("%(name)s (%(channel)s), attempt %(attempt)s failed; it will be tried again: %(error)s")
            )
            % m
        ),
    ),
]


def details_text(details: str) -> str:
    """``details`` in the active language, or as stored when no pattern knows it."""
    for pattern, render in PATTERNS:
        found = pattern.fullmatch(details)
        if found:
            return render(found.groupdict())
    return details
