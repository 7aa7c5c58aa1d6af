"""The source pages: its post text template with a live preview, and removing it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from publishing import source_edits, text_templates
from publishing.content import X_TEXT_LIMIT
from publishing.models import ContentSource, Project
from publishing.views import add_errors


class SourceTextForm(forms.Form):
    text_template = forms.CharField(
        label=gettext_lazy("Post text template"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Placeholders: {title}, {summary}, {link}, {caption}, {hashtags}. Empty: the item's own text."
        ),
    )
    hashtags = forms.CharField(label=gettext_lazy("Hashtags"), required=False, max_length=500)
    utm_source = forms.CharField(label="utm_source", required=False, max_length=100)
    utm_medium = forms.CharField(label="utm_medium", required=False, max_length=100)
    utm_campaign = forms.CharField(label="utm_campaign", required=False, max_length=100)
    is_active = forms.BooleanField(label=gettext_lazy("Scan automatically"), required=False)


class SourceDeleteForm(forms.Form):
    waiting = forms.ChoiceField(
        label=gettext_lazy("Its waiting posts"),
        widget=forms.RadioSelect,
        initial=source_edits.KEEP,
        choices=[
            (source_edits.KEEP, gettext_lazy("Keep them in the queue")),
            (source_edits.CANCEL, gettext_lazy("Cancel them")),
            (source_edits.MOVE, gettext_lazy("Move them to another project")),
        ],
    )
    move_to = forms.ModelChoiceField(label=gettext_lazy("Project"), queryset=Project.objects.none(), required=False)

    def __init__(self, *args, source: ContentSource, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["move_to"].queryset = Project.objects.filter(owner_id=source.project.owner_id).exclude(
            pk=source.project_id
        )


def _preview(source: ContentSource, template: str | None = None) -> dict:
    if not source.sample_values:
        return {"text": "", "weighted_length": 0, "fits": True, "shortened": False, "limit": X_TEXT_LIMIT}
    rendered = text_templates.source_render(source, source.sample_values, template=template)
    return {
        "text": rendered.text,
        "weighted_length": rendered.weighted_length,
        "fits": rendered.fits,
        "shortened": rendered.shortened,
        "limit": X_TEXT_LIMIT,
    }


@login_required
@writer_required
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_owned_or_404(ContentSource.objects.select_related("project"), request.user, pk=pk)
    initial = {name: getattr(source, name) for name in (*source_edits.TEXT_FIELDS, "is_active")}
    form = SourceTextForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                source_edits.source_update(source=source, **form.cleaned_data)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Source saved: its next scans use these settings."))
                return redirect("publishing:source_edit", pk=source.pk)
    context = {"source": source, "form": form, "preview": _preview(source)}
    return render(request, "publishing/source_edit.html", context)


@login_required
@require_POST
def source_template_preview(request: HttpRequest, pk: int) -> JsonResponse:
    """The template, as typed, against the source's latest item (static/publishing/source_template.js)."""
    source = get_owned_or_404(ContentSource.objects.select_related("project"), request.user, pk=pk)
    template = request.POST.get("text_template", "")[:2000]
    try:
        template = text_templates.template_check(template)
        source.hashtags = text_templates.hashtags_clean(request.POST.get("hashtags", source.hashtags)[:500])
    except ValidationError as exc:
        return JsonResponse({"errors": {k: [str(m) for m in v] for k, v in exc.message_dict.items()}}, status=400)
    for key in text_templates.UTM_KEYS:
        source.__dict__[key] = request.POST.get(key, getattr(source, key))[:100].strip()
    return JsonResponse(_preview(source, template))


@login_required
@writer_required
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_owned_or_404(ContentSource.objects.select_related("project"), request.user, pk=pk)
    form = SourceDeleteForm(request.POST or None, source=source)
    if request.method == "POST" and form.is_valid():
        try:
            removed = source_edits.source_delete(
                source=source, waiting=form.cleaned_data["waiting"], move_to=form.cleaned_data.get("move_to")
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Source removed. Waiting posts kept: %(kept)s, cancelled: %(cancelled)s, moved: %(moved)s.")
                % {"kept": removed.kept, "cancelled": removed.cancelled, "moved": removed.moved},
            )
            return redirect("publishing:project_detail", pk=source.project_id)
    context = {"source": source, "form": form, "waiting": source_edits.waiting_count(source)}
    return render(request, "publishing/source_delete.html", context)
