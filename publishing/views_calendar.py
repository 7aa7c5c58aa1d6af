"""The calendar page (a week or a month of posts and free slots) and the move it drops posts with.

A move is one POST, from the drag and drop (``static/publishing/calendar.js``, answered in
JSON) or from each post's "Move to" form (the keyboard's way, answered with a redirect);
both call ``services.task_reschedule``, which refuses a time that has passed.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cradle_site import dates
from cradle_site.errors import StateError
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from publishing import calendar_grid, services
from publishing.models import PublishingTask
from publishing.scheduling import slots_next_free


def _anchor(value: str | None, today: date) -> date:
    try:
        anchor = date.fromisoformat(value) if value else today
    except ValueError:
        return today  # a bad date shows this week, as an empty one would be no answer
    # Outside the site's dates (cradle_site.dates) there is nothing to show, and a month at
    # the end of year 9999 has no next one to link to.
    return anchor if dates.in_window(anchor) else today


def _project_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    view = request.GET.get("view") if request.GET.get("view") in calendar_grid.VIEWS else "week"
    project_id = _project_id(request.GET.get("project"))
    grid = calendar_grid.build(
        owner=request.user, view=view, anchor=_anchor(request.GET.get("start"), today), zone=zone, project_id=project_id
    )
    context = {"grid": grid, "project_id": project_id, "today": today}
    return render(request, "publishing/calendar.html", context)


def _move_time(request: HttpRequest, task: PublishingTask) -> datetime:
    """The new time: ``at`` (an ISO time with its offset, a slot's), ``next`` (the next free
    slot), or ``day`` (the same time of day on that day, in the owner's zone)."""
    at = request.POST.get("at", "")
    if at == "next":
        free = slots_next_free(project=task.project, count=1)
        if not free:
            raise ValidationError({"scheduled_at": _("This project has no free slot left to move it to.")})
        return free[0]
    if at:
        moment = parse_datetime(at)
        if moment is None or timezone.is_naive(moment):
            raise ValidationError({"scheduled_at": _("Choose a time to move the post to.")})
        return moment
    try:
        day = date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        raise ValidationError({"scheduled_at": _("Choose a time to move the post to.")}) from None
    zone = timezone.get_current_timezone()
    kept: time = task.scheduled_at.astimezone(zone).time()
    return datetime.combine(day, kept, tzinfo=zone)


@login_required
@require_POST
@writer_required
def calendar_move(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_owned_or_404(PublishingTask.objects.select_related("project__owner"), request.user, pk=pk)
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        services.task_reschedule(task=task, scheduled_at=_move_time(request, task))
    except ValidationError as exc:
        ok, text = False, " ".join(" ".join(v) for v in exc.message_dict.values())
    except StateError as exc:
        ok, text = False, str(exc)
    else:
        local = timezone.localtime(task.scheduled_at)
        ok, text = True, _("Moved to %(when)s.") % {"when": local.strftime("%Y-%m-%d %H:%M")}
    if wants_json:
        body = {"ok": ok, "message": text}
        if ok:
            body["scheduled_at"] = task.scheduled_at.isoformat()
        return JsonResponse(body, status=200 if ok else 400)
    (messages.success if ok else messages.error)(request, text)
    back = request.POST.get("next", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(back)
    return redirect("publishing:calendar")
