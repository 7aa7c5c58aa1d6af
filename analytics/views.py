"""Statistics pages: account-wide and per project, a date-range picker, CSV export."""

from __future__ import annotations

import csv
from datetime import UTC

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics.aggregate import MESSAGE_FIELDS, POST_STATUS_FIELDS, PUBLISHING_FIELDS
from analytics.chart_sets import message_charts, publishing_charts
from analytics.forms import RangeForm
from analytics.models import AnalyticsHourly, MessageHourly
from analytics.selectors import message_series, project_totals, publishing_series
from cradle_site.querysets import get_owned_or_404


def _project_queryset():
    from publishing.models import Project

    return Project.objects.all()


def _range_form(request) -> RangeForm:
    return RangeForm(request.GET if request.GET else None)


@login_required
@require_GET
def dashboard(request):
    form = _range_form(request)
    rng = form.series_range()
    context = {
        "form": form,
        "range": rng,
        "publishing_charts": publishing_charts(publishing_series(user=request.user, rng=rng), rng),
        "message_charts": message_charts(message_series(user=request.user, rng=rng), rng),
        "projects": project_totals(user=request.user, rng=rng),
        "query": request.GET.urlencode(),
    }
    return render(request, "analytics/dashboard.html", context)


@login_required
@require_GET
def project_detail(request, pk: int):
    project = get_owned_or_404(_project_queryset(), request.user, pk=pk)
    form = _range_form(request)
    rng = form.series_range()
    points = publishing_series(user=request.user, rng=rng, project=project)
    context = {
        "form": form,
        "range": rng,
        "project": project,
        "publishing_charts": publishing_charts(points, rng, prefix=f"p{project.pk}"),
        "totals": {name: sum(p[name] for p in points) for name in POST_STATUS_FIELDS.values()},
        "query": request.GET.urlencode(),
    }
    return render(request, "analytics/project_detail.html", context)


class _Echo:
    """The pseudo-buffer of Django's "Streaming large CSV files": csv.writer returns each line."""

    def write(self, value):
        return value


# Rows fetched from the cursor per round trip; memory stays flat however long the range.
CSV_CHUNK_ROWS = 2000


@login_required
@require_GET
def export_csv(request, kind: str, pk: int | None = None):
    """The hourly rows (UTC) behind the charts, streamed from the database cursor.

    Tuples straight from ``values_list`` (no model instances, no per-row lookups), one CSV line
    each. A bad range is a 400 naming the problem: a silent default would export other days.
    """
    form = _range_form(request)
    if form.is_bound and not form.is_valid():
        reasons = " ".join(str(error) for errors in form.errors.values() for error in errors)
        return HttpResponseBadRequest(reasons, content_type="text/plain; charset=utf-8")
    rng = form.series_range()
    if kind == "messages":
        qs = MessageHourly.objects.owned_by(request.user)
        columns = ["hour_timestamp", *MESSAGE_FIELDS]
        head = ["hour_utc", *MESSAGE_FIELDS]
        filename = "cradle-messages-hourly.csv"
    else:
        qs = AnalyticsHourly.objects.owned_by(request.user)
        if pk is not None:
            qs = qs.filter(project=get_owned_or_404(_project_queryset(), request.user, pk=pk))
        columns = ["hour_timestamp", "project_id", "project__name", *PUBLISHING_FIELDS]
        head = ["hour_utc", "project_id", "project", *PUBLISHING_FIELDS]
        filename = f"cradle-project-{pk}-hourly.csv" if pk else "cradle-publishing-hourly.csv"
    rows = (
        qs.filter(hour_timestamp__gte=rng.start, hour_timestamp__lt=rng.end)
        .order_by("hour_timestamp", "pk")
        .values_list(*columns)
    )
    writer = csv.writer(_Echo())

    def stream():
        yield writer.writerow(head)
        for hour, *rest in rows.iterator(chunk_size=CSV_CHUNK_ROWS):
            yield writer.writerow([hour.astimezone(UTC).isoformat(), *rest])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
