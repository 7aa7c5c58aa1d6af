"""The back office's site: Django's ``AdminSite`` whose log-in is limited like the site's,
and which opens only to staff whose session passed a second factor.

The admin log-in used to be a second door with no limit at all (40 wrong passwords for a
superuser all answered 200). It now runs through ``accounts.login_guard`` with the same
buckets, so a name locked on one form is locked on the other, and through the same second
step as the site's (``accounts.mfa_login``).

``has_permission`` is what every admin view asks (index, lists, change pages, the admin's
own password change, jsi18n, autocomplete), so a staff account without a second factor, or
a session that never passed one, reaches none of them: the log-in page sends it to the
two-factor settings (no factor yet) or to re-authentication with a factor.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import mfa
from accounts.login_guard import LoginGuard
from accounts.mfa_login import TwoStepAdminLoginView, pending_login
from accounts.reauth import reauth_redirect


class CradleAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        return super().has_permission(request) and mfa.is_verified(request)

    def login(self, request, extra_context=None):
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not mfa.is_verified(request):
            return self._second_factor_wanted(request)
        if request.method != "POST":
            return self._login_view(request, extra_context)
        guard = LoginGuard(request, request.POST.get("username") or "")
        if not guard.allowed:
            return guard.limited_page(request)
        response = self._login_view(request, extra_context)
        # A right password answers a redirect: into the admin (no factor: refused there and
        # sent to set one up) or to the second step.
        if response.status_code == 302:
            user = request.user if request.user.is_authenticated else pending_login(request)[0]
            if user is not None:
                guard.succeeded(response, user)
        elif response.status_code == 200:
            guard.failed()
        return response

    def _second_factor_wanted(self, request):
        back = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        if mfa.user_has_second_factor(request.user):
            return reauth_redirect(request, back, factor_only=True)
        messages.warning(request, _("The back office needs a second factor. Set one up to continue."))
        return redirect("accounts:two_factor")

    def _login_view(self, request, extra_context=None):
        """``AdminSite.login`` with the two-step log-in view in place of Django's ``LoginView``."""
        if request.method == "GET" and self.has_permission(request):
            return redirect(reverse("admin:index", current_app=self.name))
        from django.contrib.admin.forms import AdminAuthenticationForm

        context = {
            **self.each_context(request),
            "title": _("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return TwoStepAdminLoginView.as_view(
            extra_context=context,
            authentication_form=self.login_form or AdminAuthenticationForm,
            template_name=self.login_template or "admin/login.html",
        )(request)
