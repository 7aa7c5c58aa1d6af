"""The time zones people choose from: the canonical IANA zones, grouped by region.

``zoneinfo.available_timezones()`` also holds about 190 legacy aliases ("US/Eastern",
"Asia/Calcutta", "Etc/GMT+5" — whose sign is the opposite of what it reads): the list
offers only the zones tzdata itself lists per country (``zone.tab`` and ``zone1970.tab``,
about 420 names) plus UTC. A stored alias stays valid (``validate_time_zone`` accepts any
zone Python knows), so an old account never fails to save; only the choice list is canonical.
Without the .tab files (a tzdata without them) the list falls back to the region prefixes,
which drops the "US/…", "Etc/…" and country-named aliases.
"""

from __future__ import annotations

import functools
import zoneinfo
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The optgroups' labels, in the page's language (the zone names themselves are tzdata's).
REGIONS = {
    "Africa": _("Africa"),
    "America": _("America"),
    "Antarctica": _("Antarctica"),
    "Arctic": _("Arctic"),
    "Asia": _("Asia"),
    "Atlantic": _("Atlantic Ocean"),
    "Australia": _("Australia"),
    "Europe": _("Europe"),
    "Indian": _("Indian Ocean"),
    "Pacific": _("Pacific Ocean"),
}


def _listed_in_tab_files() -> set[str]:
    names: set[str] = set()
    for directory in zoneinfo.TZPATH:
        for file_name in ("zone.tab", "zone1970.tab"):
            path = Path(directory) / file_name
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if line and not line.startswith("#"):
                    names.add(line.split("\t")[2])
    return names


@functools.cache
def canonical_time_zones() -> tuple[str, ...]:
    available = zoneinfo.available_timezones()
    listed = _listed_in_tab_files() & available
    if not listed:
        listed = {name for name in available if name.split("/")[0] in REGIONS}
    return tuple(sorted(listed | {"UTC"}))


@functools.cache
def grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """``[("UTC", [("UTC", "UTC")]), ("Africa", [("Africa/Abidjan", "Abidjan"), ...]), ...]``
    for a select's optgroups: the group says the region, the option the place."""
    groups: dict[str, list[tuple[str, str]]] = {"UTC": [("UTC", "UTC")]}
    for name in canonical_time_zones():
        if "/" in name:
            region, place = name.split("/", 1)
            groups.setdefault(region, []).append((name, place.replace("_", " ").replace("/", " / ")))
    return [(REGIONS.get(region, region), zones) for region, zones in groups.items()]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Choose a time zone from the list."), code="invalid")
