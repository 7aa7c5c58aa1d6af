"""Scans as jobs: asked for by a person (page, API, admin) or due by the schedule, one source at a time.

A scan used to run inside the request that asked for it, and one slow feed held a web
worker for 30 s; the schedule scanned every source in one loop, so one slow source
delayed all the others. Now:

- ``source_scan_request`` (the page, the API, the admin) marks the source due now and
  enqueues ``publishing.tasks.scan_source``; the request answers at once and the page
  shows the scan's progress (``ContentSource.scan_status``, polled as JSON). If the job
  is lost (the broker was down), the schedule picks the source up anyway: it is due.
- Every scan claims its source through ``SCAN_LEASE`` (``cradle_site.leases``): the
  schedule's job takes one due source at a time, so several workers share the due
  sources and none waits on another's slow one; a worker that dies leaves a lease that
  runs out, and the source is taken back.
- Each scan has a deadline (``PUBLISHING_SCAN_DEADLINE_SECONDS``, checked by the sources
  between items and pages through ``sources.base.scan_tick``; a single HTTP read is bounded
  by its own timeout). After a scan the source is next due ``PUBLISHING_SCAN_MINUTES`` later,
  so a source that keeps running out of time goes to the back of the line.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cradle_site.audit_vocabulary import EventType
from cradle_site.leases import Lease
from ops.audit import audit_record
from publishing.models import ContentSource, Project
from publishing.scan import ScanResult, source_scan
from publishing.sources.base import ScanContext, current_scan

log = logging.getLogger(__name__)
State = ContentSource.ScanState
Status = ContentSource.ScanStatus

SCAN_LEASE = Lease(
    model=ContentSource,
    state_field="scan_state",
    free=State.IDLE,
    held=State.RUNNING,
    due_field="next_scan_at",
    lease_field="scan_lease_expires_at",
    seconds_setting="PUBLISHING_SCAN_LEASE_SECONDS",
    order_by=("next_scan_at", "id"),
)


def source_scan_request(*, source: ContentSource) -> ContentSource:
    """Ask for a scan of ``source`` now, in the background; return it with its new status."""
    now = timezone.now()
    with transaction.atomic():
        ContentSource.objects.filter(pk=source.pk).update(scan_requested_at=now, next_scan_at=now)
        owner_id = Project.objects.values_list("owner_id", flat=True).get(pk=source.project_id)
        audit_record(EventType.SOURCE_SCAN_REQUESTED, user=owner_id, obj=source, label=source.source_type)
    source.scan_requested_at = source.next_scan_at = now
    transaction.on_commit(lambda: _enqueue(source.pk))
    return source


def _enqueue(source_id: int) -> None:
    from django_q.tasks import async_task

    try:
        async_task("publishing.tasks.scan_source", source_id, task_name=f"scan source {source_id}")
    except Exception:  # the broker is away: the source is due, the schedule scans it
        log.exception("could not enqueue the scan of source %s", source_id)


def _run(source_id: int, lease_until) -> ScanResult | None:
    """Scan a source this worker holds, then let it go, due again after the interval."""
    source = ContentSource.objects.select_related("project").get(pk=source_id)

    def report(seen: int) -> None:
        ContentSource.objects.filter(pk=source_id, scan_lease_expires_at=lease_until).update(scan_items_seen=seen)

    deadline = time.monotonic() + settings.PUBLISHING_SCAN_DEADLINE_SECONDS
    token = current_scan.set(ScanContext(deadline=deadline, report=report))
    result = None
    try:
        result = source_scan(source=source)
    except Exception:  # the scan rolled back; the source must not stay held until its lease ends
        log.exception("scan of source %s failed", source_id)
    finally:
        current_scan.reset(token)
        _release(source_id, lease_until, result)
    return result


def _release(source_id: int, lease_until, result: ScanResult | None) -> None:
    now = timezone.now()
    mine = ContentSource.objects.filter(pk=source_id, scan_state=State.RUNNING, scan_lease_expires_at=lease_until)
    times = mine.values_list("scan_requested_at", "scan_started_at").first()
    if times is None:
        return  # deleted meanwhile, or taken back by another worker after the lease ran out
    requested, started = times
    # Asked for again while this scan ran: the new request gets a scan of its own.
    asked_again = requested is not None and started is not None and requested > started
    changes = {"next_scan_at": now if asked_again else now + timedelta(minutes=settings.PUBLISHING_SCAN_MINUTES)}
    if result is not None:
        changes["scan_items_added"] = result.created
        if not result.error:
            changes["scan_items_seen"] = result.total
    mine.update(**SCAN_LEASE.released(scan_state=State.IDLE, **changes))


def _claim(queryset) -> tuple[int, object] | None:
    now = timezone.now()
    claim = SCAN_LEASE.claim(queryset, now=now, limit=1, scan_started_at=now, scan_items_seen=0, scan_items_added=0)
    return (claim.ids[0], claim.lease_until) if claim.ids else None


def source_scan_job(source_id: int) -> ScanResult | None:
    """The job a request enqueued: scan that one source, unless another worker is at it."""
    claimed = _claim(ContentSource.objects.filter(pk=source_id))
    if claimed is None:
        return None  # running elsewhere (it rescans when done, see _run) or gone
    return _run(*claimed)


def sources_scan_due() -> int:
    """The schedule's job: scan due sources one at a time until the run's time is up; return tasks created."""
    stop_at = time.monotonic() + settings.PUBLISHING_SCAN_RUN_SECONDS
    # A subquery, not a join: under FOR UPDATE SKIP LOCKED a join would lock the project row
    # too, and a second worker would skip every source of that project while the first claims.
    due = ContentSource.objects.filter(is_active=True, project__in=Project.objects.filter(paused=False).values("pk"))
    created = 0
    while time.monotonic() < stop_at:
        claimed = _claim(due)
        if claimed is None:
            break
        result = _run(*claimed)
        created += result.created if result else 0
    return created


def scan_status_label(source: ContentSource) -> str:
    """The scan's state in a sentence, for the page (and its JSON poll)."""
    from django.utils.formats import date_format
    from django.utils.translation import gettext as _

    status = source.scan_status
    if status == Status.QUEUED:
        return _("Scan queued…")
    if status == Status.RUNNING:
        return _("Scanning… %(n)s items seen") % {"n": source.scan_items_seen}
    if status == Status.FAILED:
        return _("Scan failed: %(error)s") % {"error": source.last_error[:300]}
    if status == Status.DONE:
        when = date_format(timezone.localtime(source.last_scanned), "SHORT_DATETIME_FORMAT")
        return _("Scanned %(when)s: %(added)s new of %(seen)s items") % {
            "when": when,
            "added": source.scan_items_added,
            "seen": source.scan_items_seen,
        }
    return _("Not scanned yet")


def scan_status(source: ContentSource) -> dict:
    """The scan's state as data: the API's answer and the page's poll."""
    status = source.scan_status
    return {
        "source": source.pk,
        "status": str(status),
        "finished": status not in (Status.QUEUED, Status.RUNNING),
        "requested_at": source.scan_requested_at,
        "started_at": source.scan_started_at,
        "finished_at": source.last_scanned,
        "items_seen": source.scan_items_seen,
        "items_added": source.scan_items_added,
        "error": source.last_error if status == Status.FAILED else "",
        "next_scan_at": source.next_scan_at,
    }
