"""The back office's site: Django's ``AdminSite`` whose log-in is limited like the site's.

The admin log-in used to be a second door with no limit at all (40 wrong passwords for a
superuser all answered 200). It now runs through ``accounts.login_guard`` with the same
buckets, so a name locked on one form is locked on the other.
"""

from __future__ import annotations

from django.contrib import admin

from accounts.login_guard import LoginGuard


class CradleAdminSite(admin.AdminSite):
    def login(self, request, extra_context=None):
        if request.method != "POST":
            return super().login(request, extra_context)
        guard = LoginGuard(request, request.POST.get("username") or "")
        if not guard.allowed:
            return guard.limited_page(request)
        response = super().login(request, extra_context)
        # Django's LoginView logs the user in on success (and answers a redirect).
        if request.user.is_authenticated and response.status_code == 302:
            guard.succeeded(response, request.user)
        elif response.status_code == 200:
            guard.failed()
        return response
