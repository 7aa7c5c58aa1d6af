"""Re-authentication ("sudo mode"): sensitive changes want a recent proof of who is at the keyboard.

The session records when its user last proved it (``SESSION_AUTH_AT``, Unix seconds): at
log-in (``user_logged_in``) and on the re-authentication page (the password, a TOTP code or
a passkey). Past ``REAUTH_WINDOW_SECONDS`` (600 by default) a view decorated with
``reauth_required`` answers a redirect to ``accounts:reauth?next=…``, and the page comes
back there afterwards.

A POST that arrives too late is *not* executed and not replayed later: ``next`` is the page
the form lives on (the same path as a GET, or ``return_to``), so the user sees the form again
and sends it knowingly. Views that decide for themselves (only some POSTs are sensitive)
call ``needs_reauth`` and ``reauth_redirect``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_AUTH_AT = "cradle_auth_at"


def mark_authenticated(request: HttpRequest) -> None:
    request.session[SESSION_AUTH_AT] = int(timezone.now().timestamp())


@receiver(user_logged_in, dispatch_uid="cradle.accounts.reauth.logged_in")
def _on_logged_in(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        mark_authenticated(request)


def needs_reauth(request: HttpRequest) -> bool:
    """True when the session's last proof is older than the window (or was never recorded)."""
    at = request.session.get(SESSION_AUTH_AT)
    if not isinstance(at, int):
        return True
    return timezone.now().timestamp() - at > settings.REAUTH_WINDOW_SECONDS


def safe_next(request: HttpRequest, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse(settings.LOGIN_REDIRECT_URL)


def reauth_redirect(request: HttpRequest, return_to: str | None = None, *, factor_only: bool = False) -> HttpResponse:
    """Send the user to prove it again, then to ``return_to`` (default: this page, as a GET)."""
    params = {"next": return_to or request.get_full_path()}
    if factor_only:
        params["factor"] = "1"
    return redirect(f"{reverse('accounts:reauth')}?{urlencode(params)}")


def reauth_required(
    view: Callable | None = None,
    *,
    methods: Iterable[str] | None = None,
    return_to: Callable[..., str] | None = None,
):
    """Decorate a view (below ``login_required``) whose changes need a recent proof.

    ``methods``: only these methods ask (``("POST",)`` for a page whose GET is harmless).
    ``return_to(request, *args, **kwargs)``: where the user comes back to, for a POST-only
    view whose form lives on another page.
    """
    wanted = {m.upper() for m in methods} if methods else None

    def decorate(func: Callable) -> Callable:
        @wraps(func)
        def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if (wanted is None or request.method in wanted) and needs_reauth(request):
                back = return_to(request, *args, **kwargs) if return_to else request.get_full_path()
                return reauth_redirect(request, back)
            return func(request, *args, **kwargs)

        return inner

    return decorate(view) if view is not None else decorate
