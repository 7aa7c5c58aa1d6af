"""The log-in's second step: a right password for an account with a second factor logs in nobody yet.

The password step (the site's ``RateLimitedLoginView`` and the admin's log-in, both through
``accounts.login_guard``) ends, for such an account, in ``pending_start``: the session holds
a *pending log-in* (the user, the backend, where to go next), signed with a timestamp so it
is refused after ``MFA_PENDING_SECONDS`` (5 minutes), and the browser goes to the second
step (``accounts.mfa_views.login_verify``). Only a right second factor there calls
``login()`` (``pending_finish``), which also cycles the session key.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts import mfa

PENDING_KEY = "cradle_mfa_pending"
_SALT = "cradle.accounts.mfa-pending"


def pending_start(request: HttpRequest, user, *, next_url: str) -> HttpResponse:
    backend = getattr(user, "backend", None) or settings.AUTHENTICATION_BACKENDS[0]
    request.session[PENDING_KEY] = signing.dumps({"user": user.pk, "backend": backend, "next": next_url}, salt=_SALT)
    return redirect("accounts:login_verify")


def pending_login(request: HttpRequest):
    """``(user, data)`` of the pending log-in, or ``(None, None)`` when there is none or it expired."""
    raw = request.session.get(PENDING_KEY)
    if not raw:
        return None, None
    try:
        data = signing.loads(raw, salt=_SALT, max_age=settings.MFA_PENDING_SECONDS)
    except signing.BadSignature:  # also SignatureExpired
        request.session.pop(PENDING_KEY, None)
        return None, None
    user = get_user_model()._default_manager.filter(pk=data.get("user"), is_active=True).first()
    if user is None:
        request.session.pop(PENDING_KEY, None)
        return None, None
    return user, data


def pending_finish(request: HttpRequest, user, data: dict) -> str:
    """Log the user in (the second factor was right); return where to go."""
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=data["backend"])
    mfa.session_mark_verified(request)
    return data.get("next") or reverse(settings.LOGIN_REDIRECT_URL)


class TwoStepLoginMixin:
    """For a ``LoginView``: an account with a second factor goes on to the second step."""

    def form_valid(self, form):
        user = form.get_user()
        if mfa.user_has_second_factor(user):
            return pending_start(self.request, user, next_url=self.get_success_url())
        return super().form_valid(form)


class TwoStepAdminLoginView(TwoStepLoginMixin, auth_views.LoginView):
    def get_default_redirect_url(self) -> str:
        return reverse("admin:index")
