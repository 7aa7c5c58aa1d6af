"""The pause pages ("away until ..."): pause every message or one, see the pauses in force, end one early.

A viewer sees the page and cannot change anything (``writer_required`` on the POSTs). The rules
are ``messaging.pauses``'; a refused time is a form error, ``Busy`` a flash to try again.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cradle_site.errors import Busy, StateError
from cradle_site.form_errors import add_service_errors
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from messaging import pauses
from messaging.forms import PauseForm
from messaging.models import Message, Pause
from messaging.views import BUSY_TEXT

PAUSES_SHOWN = 20  # in force at once: one for all messages plus one per paused message, newest first


def _start(request: HttpRequest, form: PauseForm, message: Message | None) -> bool:
    """Start the pause from a valid form; False (with the form or a flash saying why) when it was not saved."""
    try:
        pauses.pause_start(owner=request.user, until=form.cleaned_data["until"], message=message)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return False
    except (StateError, Busy) as exc:
        flash.error(request, BUSY_TEXT if isinstance(exc, Busy) else str(exc))
        return False
    flash.success(request, _("Paused. We sent you an e-mail about it."))
    return True


@login_required
@writer_required
def pause_settings(request: HttpRequest) -> HttpResponse:
    """GET: the pauses in force and a form to pause every message. POST: start that pause."""
    form = PauseForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid() and _start(request, form, None):
            return redirect("messaging:pause_settings")
    in_force = list(
        Pause.objects.owned_by(request.user).in_force().select_related("message").order_by("-created_at")[:PAUSES_SHOWN]
    )
    context = {"form": form, "in_force": in_force}
    return render(request, "messaging/pause.html", context)


@login_required
@writer_required
def message_pause(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: a form to pause one message. POST: start that pause."""
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    form = PauseForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid() and _start(request, form, message):
            return redirect("messaging:message_detail", pk=pk)
    in_force = list(Pause.objects.owned_by(request.user).in_force().filter(message=message)[:1])
    return render(request, "messaging/pause.html", {"form": form, "message": message, "in_force": in_force})


@login_required
@writer_required
@require_POST
def pause_end(request: HttpRequest, pause_pk: int) -> HttpResponse:
    pause = get_owned_or_404(Pause.objects.select_related("owner", "message"), request.user, pk=pause_pk)
    try:
        pauses.pause_end(pause=pause)
    except StateError as exc:
        flash.error(request, str(exc))
    except Busy:
        flash.error(request, BUSY_TEXT)
    else:
        flash.success(request, _("The pause has ended; the warning schedule goes on with the full interval."))
    if pause.message_id is not None:
        return redirect("messaging:message_detail", pk=pause.message_id)
    return redirect("messaging:pause_settings")
