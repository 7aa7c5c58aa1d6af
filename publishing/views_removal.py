"""Archiving and deleting a project (``publishing.project_removal``)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from publishing import project_removal
from publishing.models import Project
from publishing.views import add_errors


class ProjectDeleteForm(forms.Form):
    confirm_name = forms.CharField(label=gettext_lazy("Type the project's name to confirm"), max_length=255)


@login_required
@require_POST
@writer_required
def project_archive(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
    archived = request.POST.get("archived") == "1"
    try:
        project_removal.project_archive(project=project, archived=archived)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("publishing:project_detail", pk=pk)
    if archived:
        messages.success(request, _("Project archived: its queue is paused and its sources are not scanned."))
        return redirect("publishing:project_list")
    messages.success(request, _("Project back from the archive. Its queue stays paused until you resume it."))
    return redirect("publishing:project_detail", pk=pk)


@login_required
@writer_required
def project_delete(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
    form = ProjectDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project_removal.project_delete_request(project=project, confirm_name=form.cleaned_data["confirm_name"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request, _("Project %(name)s is being deleted; it is gone in a few minutes.") % {"name": project.name}
            )
            return redirect("publishing:project_list")
    context = {"project": project, "form": form, "contents": project_removal.project_contents(project)}
    return render(request, "publishing/project_delete.html", context)
