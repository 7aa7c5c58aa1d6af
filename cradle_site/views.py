from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from cradle_site import health


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and monitors: 200 when the database answers and the
    job cluster has run recently, 503 otherwise (with the reason)."""
    report = health.report()
    return JsonResponse(report, status=200 if report["ok"] else 503)
