"""Pages: projects, sources, the queue and the logs. Every lookup goes through owned_by,
and every page that takes a POST is behind ``writer_required`` (a viewer gets 403)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.reauth import reauth_required
from cradle_site import dates
from cradle_site.errors import StateError
from cradle_site.form_errors import add_service_errors
from cradle_site.keyset import keyset_page
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from publishing import alerts, composer, drive_oauth, evergreen, folders, scan_runs, services, task_counts, x_oauth
from publishing.forms import (
    BlueskyConnectForm,
    CredentialsForm,
    MastodonConnectForm,
    ProjectForm,
    SourceForm,
    TaskChangeForm,
    TaskFilterForm,
)
from publishing.models import ContentSource, NetworkAccount, Project, PublishingAlert, PublishingLog, PublishingTask
from publishing.preview import task_shown

PAGE_SIZE = 50
TASK_ACTIONS = {"retry", "cancel", "change", "post_anyway", "mark_posted", "evergreen", "not_evergreen"}


# Service error keys whose page field has another name.
FORM_FIELD_OF = {"slot_times": "slot_times_text"}


def add_errors(form, error: ValidationError) -> None:
    add_service_errors(form, error, field_of=FORM_FIELD_OF)


def _status_counts(projects: list[Project]) -> dict[int, dict[str, int]]:
    """{project id: {status: tasks}}: the shown projects' count rows (``publishing.task_counts``),
    one small read however many tasks they hold."""
    return task_counts.counts_of(p.pk for p in projects)


@login_required
@writer_required
def project_list(request: HttpRequest) -> HttpResponse:
    show_archived = request.GET.get("archived") == "1"
    projects = list(
        Project.objects.owned_by(request.user)
        .filter(archived_at__isnull=not show_archived, deleting_since__isnull=True)
        .order_by("name")
    )
    counts = _status_counts(projects)
    for project in projects:
        mine = counts.get(project.pk, {})
        project.pending = mine.get(PublishingTask.Status.PENDING, 0)
        project.published = mine.get(PublishingTask.Status.SUCCESS, 0)
        project.failed = mine.get(PublishingTask.Status.FAILED, 0)
    form = ProjectForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                project = services.project_create(owner=request.user, **form.cleaned_values())
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Project created."))
                return redirect("publishing:project_detail", pk=project.pk)
    context = {"projects": projects, "form": form, "show_archived": show_archived}
    return render(request, "publishing/project_list.html", context)


@login_required
@writer_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_owned_or_404(Project.objects.select_related("owner"), request.user, pk=pk)
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.project_update(project=Project.objects.get(pk=project.pk), **form.cleaned_values())
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Project saved."))
                return redirect("publishing:project_detail", pk=project.pk)
    return render(request, "publishing/project_detail.html", _detail_context(project, form=form))


@login_required
@writer_required
@reauth_required(return_to=lambda request, pk: reverse("publishing:project_detail", args=[pk]))
@require_POST
def alert_webhook_secret(request: HttpRequest, pk: int) -> HttpResponse:
    """POST ``do=show``: the project's page with the alert webhook's signing secret; ``do=regenerate``: a new one.

    A POST after a fresh password, as for a message's webhook secrets: the secret never sits
    in a GET answer, a URL, a history or a cache.
    """
    project = get_owned_or_404(Project.objects.select_related("owner"), request.user, pk=pk)
    if not (project.alert_webhook_url and project.alert_webhook_secret):
        messages.error(request, _("Set an alert webhook URL first."))
        return redirect("publishing:project_detail", pk=pk)
    if request.POST.get("do") == "regenerate":
        alerts.webhook_secret_regenerate(project=project)
        messages.success(
            request, _("A new signing secret was made; the old one no longer verifies. Give this one to the receiver.")
        )
    form = ProjectForm(instance=project)
    context = _detail_context(project, form=form, revealed_secret=project.alert_webhook_secret)
    response = render(request, "publishing/project_detail.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _detail_context(project: Project, **extra) -> dict:
    return {
        "project": project,
        "form": ProjectForm(instance=project),
        "credentials_form": CredentialsForm(),
        "source_form": SourceForm(),
        "sources": project.sources.all(),
        "counts": _status_counts([project]).get(project.pk, {}),
        # The owner's own folder, as they see it: local sources read nothing else.
        "local_folder": folders.folder_name(project.owner_id),
        "drive_available": drive_oauth.is_configured(),
        "x_oauth_available": x_oauth.is_configured(),
        "open_alerts": PublishingAlert.objects.filter(project=project, open_marker=True).order_by("opened_at"),
        # A project holds a handful of accounts (one per network and handle): no pages needed.
        "network_accounts": list(NetworkAccount.objects.filter(project=project).order_by("network", "handle")),
        "mastodon_form": MastodonConnectForm(),
        "bluesky_form": BlueskyConnectForm(),
        "bluesky_pds": urlsplit(settings.PUBLISHING_BLUESKY_PDS_URL).netloc,
        **extra,
    }


@login_required
@require_POST
@writer_required
def project_credentials(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
    if request.POST.get("clear"):
        services.project_clear_credentials(project=project)
        messages.success(request, _("Credentials removed: this project now publishes as a dry run."))
        return redirect("publishing:project_detail", pk=pk)
    form = CredentialsForm(request.POST)
    if form.is_valid():
        services.project_set_credentials(project=project, **form.cleaned_data)
        messages.success(request, _("Credentials saved."))
    else:
        messages.error(request, _("All four credentials are needed."))
    return redirect("publishing:project_detail", pk=pk)


def _oauth_connect(request: HttpRequest, pk: int, flow) -> HttpResponse:
    """Off to the provider's consent screen, with a state and a PKCE verifier kept in this
    session (``flow``: ``drive_oauth`` or ``x_oauth``, which share these four calls)."""
    project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
    try:
        return HttpResponseRedirect(flow.authorization_start(session=request.session, project=project))
    except flow.AuthError as exc:
        messages.error(request, str(exc))
        return redirect("publishing:project_detail", pk=pk)


def _oauth_callback(request: HttpRequest, flow, *, refused: str, connected: str) -> HttpResponse:
    """Where the provider sends the owner back. A GET (its redirect), yet a write: accepted
    only with the state this session started, for a project the user owns."""
    if not request.user.can_write:
        raise PermissionDenied
    try:
        project_id, verifier = flow.authorization_pending(session=request.session, state=request.GET.get("state", ""))
    except flow.AuthError as exc:
        messages.error(request, str(exc))
        return redirect("publishing:project_list")
    project = get_owned_or_404(Project.objects.all(), request.user, pk=project_id)
    if request.GET.get("error"):  # the owner said no on the provider's screen
        messages.error(request, refused)
        return redirect("publishing:project_detail", pk=project.pk)
    try:
        flow.authorization_finish(project=project, code=request.GET.get("code", ""), verifier=verifier)
    except flow.AuthError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, connected)
    return redirect("publishing:project_detail", pk=project.pk)


@login_required
@require_POST
@writer_required
def drive_connect(request: HttpRequest, pk: int) -> HttpResponse:
    return _oauth_connect(request, pk, drive_oauth)


@login_required
@writer_required
def drive_callback(request: HttpRequest) -> HttpResponse:
    return _oauth_callback(
        request, drive_oauth, refused=_("Google Drive was not connected."), connected=_("Google Drive connected.")
    )


@login_required
@require_POST
@writer_required
def drive_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
    drive_oauth.disconnect(project=project)
    messages.success(request, _("Google Drive disconnected: its sources are not read until you connect again."))
    return redirect("publishing:project_detail", pk=pk)


@login_required
@require_POST
@writer_required
def x_connect(request: HttpRequest, pk: int) -> HttpResponse:
    return _oauth_connect(request, pk, x_oauth)


@login_required
@writer_required
def x_callback(request: HttpRequest) -> HttpResponse:
    return _oauth_callback(
        request,
        x_oauth,
        refused=_("X was not connected."),
        connected=_("X connected: posts now go to the account you chose."),
    )


@login_required
@require_POST
@writer_required
def x_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
    x_oauth.disconnect(project=project)
    messages.success(request, _("X disconnected."))
    return redirect("publishing:project_detail", pk=pk)


@login_required
@require_POST
@writer_required
def alert_dismiss(request: HttpRequest, pk: int, alert_id: int) -> HttpResponse:
    project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
    if alerts.alert_dismiss(project=project, alert_id=alert_id):
        messages.success(request, _("Alert dismissed: the next one of its kind is e-mailed again."))
    return redirect("publishing:project_detail", pk=pk)


@login_required
@require_POST
@writer_required
def source_add(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
    form = SourceForm(request.POST)
    if form.is_valid():
        try:
            services.source_create(project=project, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Source added."))
            return redirect("publishing:project_detail", pk=pk)
    return render(request, "publishing/project_detail.html", _detail_context(project, source_form=form), status=400)


@login_required
@require_POST
@writer_required
def source_scan_now(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a scan (a job: a slow feed must not hold the request); the page shows its progress."""
    source = get_owned_or_404(ContentSource.objects.all(), request.user, pk=pk)
    scan_runs.source_scan_request(source=source)
    messages.success(request, _("Scan queued: the list below shows its progress."))
    return redirect("publishing:project_detail", pk=source.project_id)


@login_required
def source_scan_status(request: HttpRequest, pk: int) -> JsonResponse:
    """What the project page polls (static/publishing/scan_progress.js) while a scan runs."""
    source = get_owned_or_404(ContentSource.objects.select_related("project"), request.user, pk=pk)
    body = scan_runs.scan_status(source)
    body["label"] = scan_runs.scan_status_label(source)
    return JsonResponse(body)


def _day_of(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day and dates.in_window(day) else None


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    tasks = PublishingTask.objects.owned_by(request.user).select_related("project", "account")
    filters = TaskFilterForm(request.GET)
    filters.is_valid()  # a bad filter is left out; the valid ones still apply
    if filters.cleaned_data.get("project"):
        tasks = tasks.filter(project_id=filters.cleaned_data["project"])
    on = _day_of(request.GET.get("on"))
    if on:  # the calendar's "N more posts" of one day, in the viewer's zone
        zone = timezone.get_current_timezone()
        start = datetime.combine(on, time(0, 0), tzinfo=zone)
        tasks = tasks.filter(scheduled_at__gte=start, scheduled_at__lt=start + timedelta(days=1))
    status = filters.cleaned_data.get("status")
    # Upcoming first (the default tab): what is still to be posted, soonest first; the
    # published, the failed and everything are newest first, in their own tabs.
    tab = "status" if status else ("all" if request.GET.get("tab") == "all" else "upcoming")
    held = False
    if status:
        tasks = tasks.filter(status=status)
    elif tab == "upcoming":
        held = tasks.filter(status=PublishingTask.Status.HELD).exists()
        tasks = tasks.filter(status=PublishingTask.Status.PENDING)
    page = keyset_page(
        tasks,
        field="scheduled_at",
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=PAGE_SIZE,
        descending=tab != "upcoming",
    )
    # Every row's preview (publishing.preview): the page's thread replies in one query.
    prefetch_related_objects([task for task in page.rows if task.reply_count], "replies")
    for task in page.rows:
        task.preview = task_shown(task, list(task.replies.all()) if task.reply_count else [])
        task.is_editable = task.status in composer.EDITABLE and not task.posted_id
    context = {"page": page, "filters": filters, "tab": tab, "status": status, "any_held": held, "on": on}
    return render(request, "publishing/task_list.html", context)


@login_required
@require_POST
@writer_required
def task_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in TASK_ACTIONS:
        raise Http404
    task = get_owned_or_404(PublishingTask.objects.all(), request.user, pk=pk)
    try:
        if action == "retry":
            services.task_retry(task=task)
        elif action == "cancel":
            services.task_cancel(task=task)
        elif action == "post_anyway":
            services.task_post_anyway(task=task)
        elif action == "mark_posted":
            services.task_mark_posted(task=task)
        elif action in ("evergreen", "not_evergreen"):
            evergreen.evergreen_mark(task=task, evergreen=action == "evergreen")
        else:
            form = TaskChangeForm(request.POST)
            if not form.is_valid():
                raise ValidationError({k: v for k, v in form.errors.items()})
            services.task_reschedule(
                task=task, scheduled_at=form.cleaned_data["scheduled_at"], priority=form.cleaned_data["priority"]
            )
    except ValidationError as exc:
        messages.error(request, " ".join(" ".join(v) for v in exc.message_dict.values()))
    except StateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Task updated."))
    back = request.POST.get("next", "")
    # The page sends its own path; anything else goes to the queue. Not redirect(back): it
    # takes a bare word ("-1", "change") for a view name and raised NoReverseMatch.
    if back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(back)
    return redirect("publishing:task_list")


@login_required
def log_list(request: HttpRequest) -> HttpResponse:
    logs = PublishingLog.objects.owned_by(request.user).select_related("project")
    status = request.GET.get("status")
    if status in PublishingLog.Status.values:
        logs = logs.filter(status=status)
    page = keyset_page(
        logs, field="published_at", after=request.GET.get("after"), before=request.GET.get("before"), size=PAGE_SIZE
    )
    context = {"page": page, "status": status or "", "statuses": PublishingLog.Status.choices}
    return render(request, "publishing/log_list.html", context)
