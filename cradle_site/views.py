import hmac
import logging
from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.defaults import page_not_found

from cradle_site import health

log = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
        return JsonResponse(body, status=404)
    return page_not_found(request, exception)


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and monitors: 200 when the database answers and the
    job cluster has run recently, 503 otherwise.

    The public gets one word, ``ok`` or ``fail``: which jobs run, when, and how many
    deliveries wait for staff are for the operator. The details (the JSON report) go to a
    request with ``Authorization: Bearer <HEALTHZ_TOKEN>`` or from a staff session. The
    token is taken from the header only, never from ``?token=``: a query string ends up in
    proxy and access logs.

    ``?strict=1`` (for monitors that page a person) also answers 503 while a warning
    e-mail keeps failing, a delivery needs staff, or a backup, binlog archive or restore
    drill failed or is late (``health.needs_a_person``). Not by
    default: a load balancer that took every web server out because the mail relay is down
    would also stop owners from checking in.

    It never answers 500, whatever the database does: ``HealthzMiddleware`` calls it before
    the session and authentication middlewares (which read the database for a signed-in
    visitor), and the staff check here reads the session only when the database answered.
    """
    try:
        report = health.report()
    except Exception as exc:
        # A monitor reads this answer: even a bug in the report is a 503 (and a traceback in the log).
        log.exception("healthz: the report failed")
        report = {"ok": False, "error": exc.__class__.__name__}
    healthy = report["ok"] and not (request.GET.get("strict") == "1" and health.needs_a_person(report))
    status = 200 if healthy else 503
    if _may_see_details(request, database_up=report.get("database") == "ok"):
        response: HttpResponse = JsonResponse(report, status=status)
    else:
        response = HttpResponse("ok" if healthy else "fail", status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def _may_see_details(request: HttpRequest, *, database_up: bool) -> bool:
    token = settings.HEALTHZ_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    if not database_up or settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    try:
        return _staff_session(request)
    except DatabaseError:  # the database went away between the report and here
        return False


def _staff_session(request: HttpRequest) -> bool:
    """Whether the request's session is a staff member's, read without the middlewares."""
    engine = import_module(settings.SESSION_ENGINE)
    probe = HttpRequest()
    probe.session = engine.SessionStore(request.COOKIES[settings.SESSION_COOKIE_NAME])
    user = auth.get_user(probe)
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page's <link rel=icon> says. The static URL is
    looked up per request: at import time the production manifest may not exist yet."""
    return HttpResponsePermanentRedirect(static("cradle/favicon.svg"))
