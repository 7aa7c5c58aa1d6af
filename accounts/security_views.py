"""The account's security pages: verify the e-mail, change it, change the password (ending
the other sessions). Rules live in ``accounts.email_verification``, ``accounts.user_sessions``
and ``accounts.security_events``; these views only call them. (The Activity page, which lists
these events with every other audit event, is ``ops.audit_views``.)

Sensitive changes (the e-mail change, the password change) take mfa13's
``accounts.reauth.reauth_required`` at merge: one decorator line above each view.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import email_verification as verification
from accounts.api_keys import apikey_revoke
from accounts.forms import EmailChangeForm, PasswordChangeEndingSessionsForm
from accounts.models import ApiKey
from accounts.reauth import reauth_required
from accounts.security_events import Kind, security_event_record
from accounts.user_sessions import session_keep_after_password_change, sessions_end_others
from cradle_site import ratelimit


def _back(request: HttpRequest, fallback: str = "accounts:profile") -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


def _limited(request: HttpRequest, retry_after: int) -> HttpResponse:
    return ratelimit.limited_response(render(request, "limited.html", {"retry_after": retry_after}), retry_after)


@login_required
@require_POST
def email_verify_resend(request: HttpRequest) -> HttpResponse:
    if request.user.email_verified:
        messages.info(request, _("Your e-mail address is already verified."))
        return _back(request)
    wait = verification.email_send_limited(request.user, "email-verify:user", settings.RATE_LIMIT_EMAIL_VERIFY)
    if wait:
        return _limited(request, wait)
    verification.email_verification_send(user=request.user)
    messages.success(
        request, _("We sent a new link to %(email)s. Open it to verify the address.") % {"email": request.user.email}
    )
    return _back(request)


def _link_page(request: HttpRequest, token: str, *, title: str, confirm, done_text: str, address: str) -> HttpResponse:
    if request.method == "POST":
        try:
            confirm(user=request.user, token=token, request=request)
        except verification.EmailLinkError as exc:
            return render(request, "accounts/email_link.html", {"title": title, "error": str(exc)}, status=400)
        messages.success(request, done_text)
        return redirect("accounts:profile")
    return render(request, "accounts/email_link.html", {"title": title, "address": address})


@login_required
def email_verify(request: HttpRequest, token: str) -> HttpResponse:
    return _link_page(
        request,
        token,
        title=_("Verify your e-mail address"),
        confirm=verification.email_verify,
        done_text=_("Thank you: your e-mail address is verified. Cradle can warn you there now."),
        address=request.user.email,
    )


@login_required
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    return _link_page(
        request,
        token,
        title=_("Confirm your new e-mail address"),
        confirm=verification.email_change_confirm,
        done_text=_("Your e-mail address has been changed."),
        address="",
    )


@login_required
@reauth_required
def email_change(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        wait = verification.email_send_limited(request.user, "email-change:user", settings.RATE_LIMIT_EMAIL_CHANGE)
        if wait:
            return _limited(request, wait)
        verification.email_change_request(user=request.user, new_email=form.cleaned_data["email"], request=request)
        messages.success(
            request,
            _("We sent a link to %(email)s. Your address changes when you open it.")
            % {"email": form.cleaned_data["email"]},
        )
        return redirect("accounts:profile")
    return render(request, "accounts/email_change.html", {"form": form})


# mfa13: @method_decorator(reauth_required, name="dispatch") goes here.
@method_decorator(login_required, name="dispatch")
class PasswordChangeEndingSessionsView(auth_views.PasswordChangeView):
    """Change the password; every other session ends, this one stays; optionally revoke every API key."""

    form_class = PasswordChangeEndingSessionsForm
    template_name = "accounts/form_page.html"
    success_url = reverse_lazy("accounts:password_change_done")
    title = gettext_lazy("Password change")

    def form_valid(self, form):
        user = form.save()
        session_keep_after_password_change(self.request, user)
        ended = sessions_end_others(user=user, keep=self.request.session.session_key)
        revoked = 0
        if form.cleaned_data.get("revoke_api_keys"):
            for api_key in ApiKey.objects.owned_by(user).filter(is_active=True):
                revoked += apikey_revoke(api_key=api_key, request=self.request)
        security_event_record(
            user=user,
            kind=Kind.PASSWORD_CHANGED,
            request=self.request,
            data={"sessions_ended": ended, "api_keys_revoked": revoked},
        )
        return redirect(self.get_success_url())


class PasswordResetConfirmEndingSessionsView(auth_views.PasswordResetConfirmView):
    """A password set through a reset link ends every session: whoever had one may be why it was reset."""

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        ended = sessions_end_others(user=user, keep=None)
        security_event_record(
            user=user,
            kind=Kind.PASSWORD_CHANGED,
            request=self.request,
            actor=user,
            data={"reset": True, "sessions_ended": ended},
        )
        return response
