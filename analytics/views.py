"""Statistics pages: account-wide and per project, a date-range picker, CSV export."""

from __future__ import annotations

import csv
from datetime import UTC

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
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
    def write(self, value):
        return value


@login_required
@require_GET
def export_csv(request, kind: str, pk: int | None = None):
    """The hourly rows (UTC) behind the charts, streamed so a long range stays cheap."""
    rng = _range_form(request).series_range()
    writer = csv.writer(_Echo())
    if kind == "messages":
        qs = MessageHourly.objects.owned_by(request.user)
        fields = MESSAGE_FIELDS
        head = ["hour_utc", *fields]
        row_of = lambda row: [row.hour_timestamp.astimezone(UTC).isoformat(), *(getattr(row, f) for f in fields)]  # noqa: E731
        filename = "cradle-messages-hourly.csv"
    else:
        qs = AnalyticsHourly.objects.owned_by(request.user).select_related("project")
        if pk is not None:
            qs = qs.filter(project=get_owned_or_404(_project_queryset(), request.user, pk=pk))
        fields = PUBLISHING_FIELDS
        head = ["hour_utc", "project_id", "project", *fields]
        row_of = lambda row: [  # noqa: E731
            row.hour_timestamp.astimezone(UTC).isoformat(),
            row.project_id,
            row.project.name,
            *(getattr(row, f) for f in fields),
        ]
        filename = f"cradle-project-{pk}-hourly.csv" if pk else "cradle-publishing-hourly.csv"
    rows = qs.filter(hour_timestamp__gte=rng.start, hour_timestamp__lt=rng.end).order_by("hour_timestamp", "pk")

    def stream():
        yield writer.writerow(head)
        for row in rows.iterator(chunk_size=2000):
            yield writer.writerow(row_of(row))

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
