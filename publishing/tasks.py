"""django-q2 entry points: thin wrappers around the runner and the scan."""

from __future__ import annotations

import logging
from dataclasses import asdict

from cradle_site.health import beat
from publishing.runner import publish_due
from publishing.scan import sources_scan_due

log = logging.getLogger(__name__)


def publish() -> dict:
    stats = publish_due()
    beat("publishing.publish")
    return asdict(stats)


def scan() -> int:
    created = sources_scan_due()
    beat("publishing.scan")
    return created
