"""The Activity page: the signed-in user's own audit events, filtered, paged, and as CSV.

Scoped by ``AuditEvent.objects.owned_by`` only (``ops.audit.audit_events_of``): another
user's events are never on the page, in the CSV or behind a cursor id.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cradle_site.keyset import keyset_page
from ops.audit import audit_events_of
from ops.audit_forms import AuditFilterForm
from ops.audit_text import audit_details

ACTIVITY_PAGE_SIZE = 50
CSV_CHUNK_ROWS = 2000
CSV_HEAD = [
    "time_utc",
    "event_type",
    "event",
    "actor_kind",
    "actor_label",
    "object_type",
    "object_id",
    "object_label",
    "ip",
    "user_agent",
    "details",
]


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, object]:
    form = AuditFilterForm(request.GET or None)
    events = audit_events_of(request.user)
    if form.is_bound:
        events = form.apply(events) if form.is_valid() else events.none()
    return form, events


@login_required
@require_GET
def activity(request: HttpRequest) -> HttpResponse:
    form, events = _filtered(request)
    page = keyset_page(
        events,
        field="created_at",
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=ACTIVITY_PAGE_SIZE,
    )
    rows = [(event, audit_details(event)) for event in page]
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    context = {"form": form, "page": page, "rows": rows, "query": query.urlencode()}
    return render(request, "ops/activity.html", context)


def _cell(value) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: quote it.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_chunks(events):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEAD)
    for index, event in enumerate(events.iterator(chunk_size=CSV_CHUNK_ROWS), start=1):
        writer.writerow(
            [
                event.created_at.astimezone(UTC).isoformat(),
                event.event_type,
                *(
                    _cell(value)
                    for value in (
                        event.get_event_type_display(),
                        event.actor_kind,
                        event.actor_label,
                        event.object_type,
                        event.object_id,
                        event.object_label,
                        event.ip,
                        event.user_agent,
                        json.dumps(event.extra_data, ensure_ascii=False, sort_keys=True),
                    )
                ),
            ]
        )
        if index % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@login_required
@require_GET
def activity_csv(request: HttpRequest) -> HttpResponse:
    """Every event the filters select, streamed from the cursor (memory stays flat)."""
    form, events = _filtered(request)
    if form.is_bound and not form.is_valid():
        lines = [f"{field}: {reason}" for field, reasons in form.errors.items() for reason in reasons]
        return HttpResponse("\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(_csv_chunks(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cradle-activity.csv"'
    return response
