"""Irreversible back-office actions ask first, like Django's own "delete selected".

An action decorated with ``confirm_first`` answers its first POST with a page that says what
will change and lists the rows it will touch (the first ``SHOWN``, and how many in all); only
the second POST, carrying ``confirmed=yes``, runs it. The confirmation form posts back to the
changelist URL with its filters, so "select all N" means the same rows on both steps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

SHOWN = 50  # rows listed on the page; the count says how many there are in all


def confirm_first(*, consequence: str) -> Callable:
    """Wrap an admin action so it runs only after the confirmation page; ``consequence`` says
    what cannot be undone ("Nothing will ever be delivered for these messages.")."""

    def wrap(action: Callable) -> Callable:
        @functools.wraps(action)
        def run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
            if request.POST.get("confirmed") == "yes":
                return action(modeladmin, request, queryset)
            return _confirmation(modeladmin, request, queryset, action=action, consequence=consequence)

        return run

    return wrap


def _confirmation(modeladmin, request, queryset, *, action, consequence) -> TemplateResponse:
    opts = modeladmin.model._meta
    name = request.POST.get("action", action.__name__)
    _func, _name, description = modeladmin.get_action(name) or (None, name, name)
    select_across = request.POST.get("select_across") == "1"
    shown = list(queryset[:SHOWN])
    total = queryset.count() if select_across or len(shown) == SHOWN else len(shown)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": description,
        "opts": opts,
        "consequence": consequence,
        "action_name": name,
        "shown": shown,
        "total": total,
        "more": total - len(shown),
        "select_across": select_across,
        # Django runs an action only when some box was ticked, even for "select all".
        "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "index": request.POST.get("index", "0"),
    }
    return TemplateResponse(request, "admin/cradle_confirm_action.html", context)
