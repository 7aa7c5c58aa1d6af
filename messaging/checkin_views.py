"""The check-in link of a warning e-mail: answer without logging in (``messaging.links``).

Opening the link (GET) only shows where the message stands and the answers; every answer is
a POST, so a mail scanner that follows the link changes nothing. The page shows when the
message was created and its ladder, never its title, content or recipients: whoever holds
the link can answer this one warning, once, and learns nothing else.

- "I'm still here" (RESET) and "Continue" (only while a warning is out) answer on the page;
  revoking asks first, on its own page (``checkin_revoke``), also by POST.
- Every answer goes through the services with ``links.link_guard``: the step is checked and
  spent under the message's row lock, and the history says the answer came by the link.
- A logged-in owner keeps the page they had before links worked without a log-in: the title,
  the links to the message, answers through their session.
- ``Busy`` is "try again" on the page (503 with Retry-After), never a 500.

Invalid and spent links count in the per-address rate limit (``RATE_LIMIT_CHECKIN``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cradle_site import ratelimit
from cradle_site.errors import Busy, StateError
from messaging import history, links, services
from messaging.models import Message
from messaging.views import BUSY_TEXT, _answer

LINK_ANSWERS = {"reset": services.message_reset, "continue": services.message_continue}


def _bucket(request: HttpRequest) -> ratelimit.Bucket:
    return ratelimit.Bucket(
        "checkin:address", ratelimit.request_address(request), ratelimit.Rate.of(settings.RATE_LIMIT_CHECKIN)
    )


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: no cache keeps the page, no other site learns the URL, no index lists it.
    # same-origin, not no-referrer: the forms here must still send their Origin (the CSRF check).
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _open(request: HttpRequest, token: str) -> tuple[links.LinkClaim, Message] | HttpResponse:
    """The link's step and message, or the page that says why it does not open."""
    bucket = _bucket(request)
    if wait := ratelimit.limited([bucket]):
        page = render(request, "messaging/checkin_invalid.html", {"reason": "limited"})
        return _private(ratelimit.limited_response(page, wait))
    try:
        claim = links.checkin_read(token)
    except links.LinkError as exc:
        ratelimit.hit(bucket)
        return _private(render(request, "messaging/checkin_invalid.html", {"reason": exc.reason}, status=400))
    message = Message.objects.select_related("owner").filter(pk=claim.message_id).first()
    if message is None:  # signed by us for a message deleted since
        ratelimit.hit(bucket)
        return _private(render(request, "messaging/checkin_invalid.html", {"reason": "invalid"}, status=400))
    return claim, message


def _context(claim: links.LinkClaim, message: Message, **extra) -> dict:
    # Only what the link may tell: no title, content or recipient is ever put in this context.
    return {
        "token_level": claim.level,
        "warnings_total": message.warnings_total,
        "created_at": message.created_at,
        "deadline": message.next_warning_date,
        "owner_time_zone": message.owner.time_zone,
        "problem": links.link_problem(claim, message),
        **extra,
    }


def checkin(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the link answers, and the buttons. POST ``answer=reset|continue``: the answer."""
    opened = _open(request, token)
    if isinstance(opened, HttpResponse):
        return opened
    claim, message = opened
    if request.user.is_authenticated and request.user.pk == message.owner_id:
        return _private(_owner_page(request, message))
    if request.method != "POST":
        return _private(render(request, "messaging/checkin_link.html", _context(claim, message, token=token)))
    action = request.POST.get("answer")
    if action not in LINK_ANSWERS:
        page = render(request, "messaging/checkin_link.html", _context(claim, message, token=token, error=True))
        page.status_code = 400
        return _private(page)
    return _private(_link_answer(request, claim, message, action, token))


def checkin_revoke(request: HttpRequest, token: str) -> HttpResponse:
    """GET: "revoke this message?" POST ``confirm=yes``: revoke it, for good."""
    opened = _open(request, token)
    if isinstance(opened, HttpResponse):
        return opened
    claim, message = opened
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        context = _context(claim, message, token=token, error=request.method == "POST")
        return _private(
            render(request, "messaging/checkin_revoke.html", context, status=400 if context["error"] else 200)
        )
    return _private(_link_answer(request, claim, message, "revoke", token))


def _link_answer(
    request: HttpRequest, claim: links.LinkClaim, message: Message, action: str, token: str
) -> HttpResponse:
    if not (message.owner.is_active and message.owner.can_write):
        raise PermissionDenied  # a viewer's or a disabled account changes nothing, by link or page
    service = services.message_revoke if action == "revoke" else LINK_ANSWERS[action]
    try:
        service(message=message, actor=history.CHECKIN_LINK, guard=links.link_guard(claim))
    except links.StaleLink as exc:
        ratelimit.hit(_bucket(request))
        context = _context(claim, message, token=token, problem=exc.reason)
        return render(request, "messaging/checkin_link.html", context, status=409)
    except StateError as exc:
        context = _context(claim, message, token=token, refused=str(exc))
        return render(request, "messaging/checkin_link.html", context, status=409)
    except Busy:
        context = _context(claim, message, token=token, busy=BUSY_TEXT, problem=None)
        response = render(request, "messaging/checkin_link.html", context, status=503)
        response["Retry-After"] = str(Busy.retry_after)
        return response
    message.refresh_from_db()
    return render(request, "messaging/checkin_link.html", _context(claim, message, done=action))


def _owner_page(request: HttpRequest, message: Message) -> HttpResponse:
    """The logged-in owner's page, as before: the title, the answers through their session."""
    if request.method == "POST":
        if not request.user.can_write:
            raise PermissionDenied
        action = {"reset": "reset", "continue": "continue"}.get(request.POST.get("answer"))
        if action is None:
            return render(request, "messaging/checkin.html", {"message": message, "error": True}, status=400)
        return _answer(request, message, action)
    return render(request, "messaging/checkin.html", {"message": message})
