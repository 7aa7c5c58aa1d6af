"""django-q2 entry points: thin wrappers around the runner and the scan."""

from __future__ import annotations

import logging
from dataclasses import asdict

from cradle_site.health import beat
from publishing import alerts
from publishing.evergreen import evergreen_due
from publishing.project_removal import project_delete_run, projects_delete_due
from publishing.runner import publish_due
from publishing.scan_runs import source_scan_job, sources_scan_due

log = logging.getLogger(__name__)


def publish() -> dict:
    stats = publish_due()
    beat("publishing.publish")
    return asdict(stats)


def scan() -> int:
    created = sources_scan_due()
    projects_delete_due()  # deletions whose job was lost start again
    beat("publishing.scan")
    return created


def scan_source(source_id: int) -> int:
    """A scan a person asked for (``scan_runs.source_scan_request``)."""
    result = source_scan_job(source_id)
    return result.created if result else 0


def delete_project(project_id: int) -> bool:
    """A deletion the owner asked for (``project_removal.project_delete_request``)."""
    return project_delete_run(project_id)


def evergreen() -> int:
    queued = evergreen_due()
    beat("publishing.evergreen")
    return queued


def alerts_send() -> dict:
    counts = alerts.alerts_send()
    beat("publishing.alerts")
    return counts


def queues_check() -> dict:
    counts = alerts.queues_check()
    beat("publishing.queues_check")
    return counts
