"""``/ping/<token>`` (and ``/ping/<token>/<message id>`` or ``?message=<id>``) and its settings page.

The ping is for phone shortcuts and scripts: no session, no CSRF (the token in the URL is the
authority, as healthchecks does it), an answer in plain text, or JSON when the client asks
for it (``Accept: application/json``), with a status code that says what happened:

- 200 ``OK``: the messages were reset (how many, possibly 0);
- 400 a ``message`` that is not a number; 404 an unknown token or message; 409 a message that
  is not waiting; 403 an account that may not write (a viewer);
- 405 for any method but POST: opening the URL in a browser changes nothing;
- 429 (with Retry-After) past the per-address limit of unknown tokens or the per-owner limit;
- 503 (with Retry-After) when the database was busy: nothing was saved, try again.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt

from accounts.reauth import reauth_required
from cradle_site import ratelimit
from cradle_site.errors import Busy, StateError
from cradle_site.roles import writer_required
from messaging import ping as pings


def _reply(request: HttpRequest, status: int, text: str, **data) -> HttpResponse:
    if "application/json" in request.headers.get("Accept", ""):
        body = {"status": "ok" if status == 200 else "error", "detail": text, **data}
        response: HttpResponse = JsonResponse(body, status=status)
    else:
        response = HttpResponse(f"{text}\n", status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


def _message_id(request: HttpRequest, message_id: str | None) -> int | None | str:
    """The message named by the path or ``?message=``; "bad" for anything that is not an id."""
    if message_id is not None:
        return int(message_id)  # the route allows digits only
    raw = request.GET.get("message", "").strip()
    if not raw:
        return None
    return int(raw) if raw.isdigit() and len(raw) <= 18 else "bad"


@csrf_exempt
def ping(request: HttpRequest, token: str, message_id: str | None = None) -> HttpResponse:
    if request.method != "POST":
        response = _reply(request, 405, _("Use POST to check in. Opening this address changes nothing."))
        response["Allow"] = "POST"
        return response
    target = _message_id(request, message_id)
    if target == "bad":
        return _reply(request, 400, _("message: give the number of one of your messages."))
    failures = ratelimit.Bucket(
        "ping:address", ratelimit.request_address(request), ratelimit.Rate.of(settings.RATE_LIMIT_PING_FAILURES)
    )
    if wait := ratelimit.limited([failures]):
        return ratelimit.limited_response(
            _reply(request, 429, _("Too many attempts. Please wait and try again.")), wait
        )
    found = pings.ping_token_find(token)
    if found is None:
        ratelimit.hit(failures)
        return _reply(request, 404, _("This check-in URL is not known (it may have been replaced or deleted)."))
    owner = found.owner
    per_owner = ratelimit.Bucket("ping:owner", str(owner.pk), ratelimit.Rate.of(settings.RATE_LIMIT_PING_OWNER))
    decision = ratelimit.reserve([per_owner])
    if not decision.allowed:
        response = _reply(request, 429, _("Too many check-ins. Please wait and try again."))
        return ratelimit.limited_response(response, decision.retry_after)
    if not owner.can_write:
        return _reply(request, 403, _("This account may not change messages."))
    try:
        count = pings.checkin_reset(owner=owner, message_id=target)
    except pings.NoSuchMessage:
        return _reply(request, 404, _("You have no message with this number."))
    except StateError as exc:
        return _reply(request, 409, str(exc))
    except Busy:
        response = _reply(request, 503, _("Cradle is busy; your check-in was not saved. Please try again."))
        response["Retry-After"] = str(Busy.retry_after)
        return response
    pings.ping_token_used(found)
    text = ngettext("OK: %(count)d message reset.", "OK: %(count)d messages reset.", count) % {"count": count}
    return _reply(request, 200, text, reset=count)


@login_required
@writer_required
@reauth_required(methods=("POST",))  # a new URL is a new way to answer for the account
def ping_settings(request: HttpRequest) -> HttpResponse:
    """GET: the owner's check-in URL (whether there is one). POST ``do=create|delete``: make (or replace) it, or delete it."""
    if request.method == "POST":
        action = request.POST.get("do")
        if action == "create":
            new = pings.ping_token_create(owner=request.user, request=request)
            # The URL is on this answer only; it is stored as a hash.
            response = render(request, "messaging/ping_settings.html", {"token": new.token, "new_url": new.url})
            response["Cache-Control"] = "no-store"
            return response
        if action == "delete":
            if pings.ping_token_delete(owner=request.user, request=request):
                flash.success(request, _("Your personal check-in URL was deleted; it no longer works."))
            return redirect("messaging:ping_settings")
    return render(request, "messaging/ping_settings.html", {"token": pings.ping_token_of(request.user)})
