"""The project page's "Networks" section: connect a Mastodon account (OAuth against the
owner's instance, ``publishing.mastodon_oauth``), a Bluesky account (handle and app
password, ``accounts.account_connect_bluesky``), and disconnect either (a POST behind a
confirm). Every rule is the services'; a refusal is a form error on the project page (400),
never the network's own words."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cradle_site.form_errors import add_service_errors
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from publishing import accounts, mastodon_oauth
from publishing.forms import BlueskyConnectForm, MastodonConnectForm
from publishing.models import NetworkAccount, Project
from publishing.views import _detail_context


def _page_with(request: HttpRequest, project: Project, **forms) -> HttpResponse:
    context = _detail_context(project, **forms)
    return render(request, "publishing/project_detail.html", context, status=400)


@login_required
@require_POST
@writer_required
def mastodon_connect(request: HttpRequest, pk: int) -> HttpResponse:
    """Off to the owner's instance to approve Cradle (the app registered there once)."""
    project = get_owned_or_404(Project.objects.select_related("owner"), request.user, pk=pk)
    form = MastodonConnectForm(request.POST)
    if form.is_valid():
        try:
            url = mastodon_oauth.authorization_start(
                session=request.session, project=project, instance_url=form.cleaned_data["instance_url"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return HttpResponseRedirect(url)
    return _page_with(request, project, mastodon_form=form)


@login_required
@writer_required
def mastodon_callback(request: HttpRequest) -> HttpResponse:
    """Where the instance sends the owner back. A GET (its redirect), yet a write: accepted
    only with the state this session started, for a project the user owns."""
    if not request.user.can_write:
        raise PermissionDenied
    try:
        project_id, instance = mastodon_oauth.authorization_pending(
            session=request.session, state=request.GET.get("state", "")
        )
    except mastodon_oauth.AuthError as exc:
        messages.error(request, str(exc))
        return redirect("publishing:project_list")
    project = get_owned_or_404(Project.objects.all(), request.user, pk=project_id)
    if request.GET.get("error"):  # the owner said no on the instance's page
        messages.error(request, _("Mastodon was not connected."))
        return redirect("publishing:project_detail", pk=project.pk)
    try:
        account = mastodon_oauth.authorization_finish(
            project=project, instance_url=instance, code=request.GET.get("code", "")
        )
    except mastodon_oauth.AuthError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Mastodon connected as %(handle)s.") % {"handle": account.handle})
    return redirect("publishing:project_detail", pk=project.pk)


@login_required
@require_POST
@writer_required
def bluesky_connect(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_owned_or_404(Project.objects.select_related("owner"), request.user, pk=pk)
    form = BlueskyConnectForm(request.POST)
    if form.is_valid():
        try:
            account = accounts.account_connect_bluesky(project=project, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Bluesky connected as %(handle)s.") % {"handle": account.handle})
            return redirect("publishing:project_detail", pk=project.pk)
    return _page_with(request, project, bluesky_form=form)


@login_required
@require_POST
@writer_required
def account_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_owned_or_404(NetworkAccount.objects.select_related("project"), request.user, pk=pk)
    if request.POST.get("confirm") != "yes":  # the button inside the "Disconnect…" disclosure sends it
        messages.error(request, _("Press the button to confirm."))
        return redirect("publishing:project_detail", pk=account.project_id)
    project_id, handle = account.project_id, account.handle
    accounts.account_disconnect(account=account)
    messages.success(request, _("%(handle)s disconnected; its queued copies are gone.") % {"handle": handle})
    return redirect("publishing:project_detail", pk=project_id)
