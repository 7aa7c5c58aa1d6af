"""Site-wide middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class HealthzMiddleware:
    """Answers ``/healthz`` itself, ahead of the session, authentication and preference
    middlewares: each of those may read the database for a signed-in visitor, and an
    outage there would turn the health answer into a 500 instead of a 503 "fail". The
    route stays in the URL conf (``reverse("healthz")``, the page walks) and runs the same view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.path: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.path is None:
            self.path = reverse("healthz")
        if request.path_info == self.path:
            from cradle_site.views import healthz

            return healthz(request)
        return self.get_response(request)
