"""Statistics pages: account-wide and per project, a date-range picker, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from analytics.aggregate import MESSAGE_FIELDS, POST_STATUS_FIELDS, PUBLISHING_FIELDS
from analytics.chart_sets import message_charts, publishing_charts
from analytics.forms import RangeForm
from analytics.models import AnalyticsDaily, AnalyticsHourly, MessageDaily, MessageHourly
from analytics.selectors import HOURLY_MAX_DAYS, message_series, project_totals, publishing_series
from cradle_site.querysets import get_owned_or_404
from cradle_site.replica import read_from_replica
from publishing.models import Network


def _project_queryset():
    from publishing.models import Project

    return Project.objects.all()


def _range_form(request) -> RangeForm:
    return RangeForm(request.GET if request.GET else None)


def _invalid(request, form: RangeForm, template: str, **context):
    # A range that cannot be read draws nothing: the default week's charts under the error
    # read as if they were the range the user asked for.
    context = {"form": form, "invalid": True, "query": "", "hourly_max_days": HOURLY_MAX_DAYS, **context}
    return render(request, template, context, status=400)


@login_required
@require_GET
@read_from_replica
def dashboard(request):
    form = _range_form(request)
    if form.is_bound and not form.is_valid():
        return _invalid(request, form, "analytics/dashboard.html")
    rng, network = form.series_range(), form.chosen_network()
    points = publishing_series(user=request.user, rng=rng, network=network)
    context = {
        "form": form,
        "range": rng,
        "network_label": Network(network).label if network else "",
        "publishing_charts": publishing_charts(points, rng),
        "message_charts": message_charts(message_series(user=request.user, rng=rng), rng),
        "projects": project_totals(user=request.user, rng=rng, network=network),
        "query": request.GET.urlencode(),
        "hourly_max_days": HOURLY_MAX_DAYS,
    }
    return render(request, "analytics/dashboard.html", context)


@login_required
@require_GET
@read_from_replica
def project_detail(request, pk: int):
    project = get_owned_or_404(_project_queryset(), request.user, pk=pk)
    form = _range_form(request)
    if form.is_bound and not form.is_valid():
        return _invalid(request, form, "analytics/project_detail.html", project=project)
    rng, network = form.series_range(), form.chosen_network()
    points = publishing_series(user=request.user, rng=rng, project=project, network=network)
    context = {
        "form": form,
        "range": rng,
        "network_label": Network(network).label if network else "",
        "project": project,
        "publishing_charts": publishing_charts(points, rng, prefix=f"p{project.pk}"),
        "totals": {name: sum(p[name] for p in points) for name in POST_STATUS_FIELDS.values()},
        "query": request.GET.urlencode(),
        "hourly_max_days": HOURLY_MAX_DAYS,
    }
    return render(request, "analytics/project_detail.html", context)


# Rows per query (``_keyset_rows``) and per piece of the response: memory
# stays flat however long the range, and the stream is not one generator step per line.
CSV_CHUNK_ROWS = 2000


def _utc_text(stored: str) -> str:
    """A UTC datetime column read as text (``2026-03-01 10:00:00[.ffffff]``) in ``isoformat`` form.

    Reading the column as text skips the driver's and Django's datetime conversion of every
    row: a year of hours for five projects is 44,000 rows, and that conversion was a third
    of the export's time. Stored values are UTC (``USE_TZ``) on both databases.
    """
    text = stored.replace(" ", "T", 1)
    if text.endswith(".000000"):
        text = text[:-7]
    return text + "+00:00"


def _keyset_rows(qs, *, time_column: str, ties: tuple[str, ...], columns: list[str], hour_text: bool):
    """The rows in (time, *``ties``) order, ``CSV_CHUNK_ROWS`` per query, each query starting
    after the last row of the one before. ``columns`` start with the time and the ties.

    Not one query read through ``iterator()``: MySQLdb stores a whole result in the client
    before the first row comes, so a year of hours (44,000 rows) sat in memory and the
    download started only when all of it had arrived. A chunk is a range read on the unique
    (time, project, network) or (time, owner) index, so the first bytes leave after one small
    query and memory stays one chunk deep however long the range.
    """
    order = [time_column, *ties]
    after = None
    while True:
        page = qs
        if after is not None:
            # (time, *ties) > the last row's, spelled out: a later time, or the same time and
            # the same leading ties with a later next one.
            later = Q(**{f"{time_column}__gt": after[0]})
            for depth in range(len(ties)):
                same = {time_column: after[0], **{ties[i]: after[i + 1] for i in range(depth)}}
                later |= Q(**same, **{f"{ties[depth]}__gt": after[depth + 1]})
            page = page.filter(later)
        rows = list(page.order_by(*order).values_list(*columns)[:CSV_CHUNK_ROWS])
        yield rows
        if len(rows) < CSV_CHUNK_ROWS:
            return
        last = rows[-1]
        moment = datetime.fromisoformat(_utc_text(last[0])) if hour_text else last[0]
        after = (moment, *last[1 : 1 + len(ties)])


def _csv_chunks(head: list[str], chunks, *, first_is_hour: bool, names: dict[int, str] | None = None):
    """The CSV text, one piece per chunk of rows. With ``names``, the second column is a
    project id and its name is written after it. An hour's first column comes as text
    (``_utc_text``), a day's as a date."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(head)
    for rows in chunks:
        for moment, *rest in rows:
            if names is not None:
                rest.insert(1, names[rest[0]])
            writer.writerow([_utc_text(moment) if first_is_hour else moment.isoformat(), *rest])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _bad_request(errors: dict[str, list[str]]) -> HttpResponseBadRequest:
    """One line per field: ``from: Enter a valid date.`` (the query parameter, then the reason)."""
    lines = [
        f"{'from' if field == 'from_' else field}: {reason}" for field, reasons in errors.items() for reason in reasons
    ]
    return HttpResponseBadRequest("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@login_required
@require_GET
@read_from_replica
def export_csv(request, kind: str, pk: int | None = None):
    """The rows behind the charts, streamed from the database cursor: per UTC hour, or per UTC
    day (from the day roll-ups) with ``?interval=day`` or for a range longer than
    ``HOURLY_MAX_DAYS`` (the file's name says which).

    Tuples straight from ``values_list`` (no model instances, no per-row lookups). A bad
    range is a 400 naming the parameter and the problem: a silent default would export other days.
    """
    form = _range_form(request)
    if form.is_bound and not form.is_valid():
        return _bad_request(form.errors)
    asked = form.cleaned_data.get("interval") if form.is_bound else ""
    if asked == "week":
        return _bad_request({"interval": [_("The export has a row per hour or per day.")]})
    rng = form.series_range()
    # Hours for up to HOURLY_MAX_DAYS, as the charts (a chart refuses ?interval=hour beyond
    # it, and so does the export); an automatic export of a longer range comes per day: a
    # year of hours for five projects was 44,000 rows and 2.7 MB, the one request that grew
    # past a quarter of a second with the rows (issue 11). Per hour, take it a month at a time.
    span = (rng.last_day - rng.first_day).days + 1
    by_day = asked == "day" or (asked != "hour" and span > HOURLY_MAX_DAYS)
    time_column, time_head = ("day", "day_utc") if by_day else ("hour_timestamp", "hour_utc")
    names = None
    if kind == "messages":
        qs = (MessageDaily if by_day else MessageHourly).objects.owned_by(request.user)
        columns = [time_column, *MESSAGE_FIELDS]
        head = [time_head, *MESSAGE_FIELDS]
        filename = "cradle-messages"
    else:
        # The owner's projects first, then their rows by project id: joining projects into
        # the export made MariaDB sort a year's rows in a temporary table (3x slower).
        if pk is not None:
            project = get_owned_or_404(_project_queryset(), request.user, pk=pk)
            names = {project.pk: project.name}
        else:
            names = dict(_project_queryset().owned_by(request.user).values_list("pk", "name"))
        qs = (AnalyticsDaily if by_day else AnalyticsHourly).objects.filter(project_id__in=list(names))
        # A row per project, time and network (X, Mastodon, Bluesky): the network after the project.
        columns = [time_column, "project_id", "network", *PUBLISHING_FIELDS]
        head = [time_head, "project_id", "project", "network", *PUBLISHING_FIELDS]
        filename = f"cradle-project-{pk}" if pk else "cradle-publishing"
    if kind != "messages" and form.chosen_network():
        qs = qs.filter(network=form.chosen_network())
    if by_day:
        # UTC days: the day rows are UTC days, the picker's dates taken as such.
        qs = qs.filter(day__gte=rng.first_day, day__lte=rng.last_day)
    else:
        qs = qs.filter(hour_timestamp__gte=rng.start, hour_timestamp__lt=rng.end)
    if not by_day:
        qs = qs.annotate(hour_text=Cast(time_column, CharField()))
        columns = ["hour_text", *columns[1:]]
    # One row per owner and time for messages; per project, network and time for publishing,
    # in project order.
    chunks = _keyset_rows(
        qs,
        time_column=time_column,
        ties=() if kind == "messages" else ("project_id", "network"),
        columns=columns,
        hour_text=not by_day,
    )
    response = StreamingHttpResponse(
        _csv_chunks(head, chunks, first_is_hour=not by_day, names=names), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}-{"daily" if by_day else "hourly"}.csv"'
    return response
