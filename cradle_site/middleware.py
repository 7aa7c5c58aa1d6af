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


class AuditContextMiddleware:
    """Names the request's actor for the audit log (``cradle_site.audit_vocabulary``): the
    signed-in person, or someone not logged in, with the address and browser. Resolved only
    when a service records an event; an API key's authentication replaces it for its call."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from cradle_site.audit_vocabulary import actor_from_request, request_scope

        with request_scope(lambda: actor_from_request(request)):
            return self.get_response(request)
