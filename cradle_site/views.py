import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
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


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and monitors: 200 when the database answers and the
    job cluster has run recently, 503 otherwise (with the reason).

    ``?strict=1`` (for monitors that page a person) also answers 503 while a warning
    e-mail keeps failing or a delivery needs staff (``health.needs_a_person``). Not by
    default: a load balancer that took every web server out because the mail relay is down
    would also stop owners from checking in.
    """
    try:
        report = health.report()
    except Exception as exc:
        # A monitor parses this answer: even a bug in the report is a JSON 503 (and a traceback in the log).
        log.exception("healthz: the report failed")
        return JsonResponse({"ok": False, "error": exc.__class__.__name__}, status=503)
    healthy = report["ok"] and not (request.GET.get("strict") == "1" and health.needs_a_person(report))
    return JsonResponse(report, status=200 if healthy else 503)
