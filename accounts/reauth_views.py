"""The re-authentication page (``accounts:reauth``): the password, a TOTP code or a passkey again.

Password attempts count in the log-in's buckets (``accounts.login_guard``: the same secret
is being guessed), codes and passkeys in the second factor's (``accounts.mfa``). With
``?factor=1`` (the back office, for a session that never passed a second factor) only a
second factor is accepted.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import mfa, mfa_webauthn
from accounts.login_guard import LoginGuard
from accounts.mfa_forms import ReauthPasswordForm, TotpCodeForm
from accounts.mfa_models import WebAuthnCredential
from accounts.mfa_views import TOO_MANY, _json_body
from accounts.reauth import mark_authenticated, safe_next
from cradle_site import ratelimit


@login_required
def reauth(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    factor_only = (request.POST.get("factor") or request.GET.get("factor")) == "1"
    method = request.POST.get("method")
    password_form = ReauthPasswordForm(request.POST if method == "password" and not factor_only else None)
    totp_form = TotpCodeForm(request.POST if method == "totp" else None)
    retry_after = 0
    if request.method == "POST" and method == "password" and not factor_only and password_form.is_valid():
        guard = LoginGuard(request, user.get_username())
        if not guard.allowed:
            password_form.add_error(None, TOO_MANY)
            retry_after = guard.retry_after
        elif user.check_password(password_form.cleaned_data["password"]):
            response = redirect(next_url)
            guard.succeeded(response, user)
            mark_authenticated(request)
            return response
        else:
            password_form.add_error("password", _("This password is not right."))
    elif request.method == "POST" and method == "totp" and totp_form.is_valid():
        decision = mfa.attempt_reserve(request, user)
        if not decision.allowed:
            totp_form.add_error(None, TOO_MANY)
            retry_after = decision.retry_after
        elif mfa.totp_verify(user=user, code=totp_form.cleaned_data["code"]):
            ratelimit.release(decision)
            mark_authenticated(request)
            mfa.session_mark_verified(request)
            return redirect(next_url)
        else:
            totp_form.add_error("code", _("This code is not right, or it was already used."))
    context = {
        "password_form": password_form,
        "totp_form": totp_form,
        "next": next_url,
        "factor_only": factor_only,
        "has_totp": mfa.totp_devices(user).exists(),
        "has_passkey": WebAuthnCredential.objects.filter(user=user).exists(),
    }
    response = render(request, "accounts/reauth.html", context)
    return ratelimit.limited_response(response, retry_after) if retry_after else response


@login_required
@require_POST
def reauth_passkey_options(request: HttpRequest) -> HttpResponse:
    return HttpResponse(mfa_webauthn.authentication_options(request, request.user), content_type="application/json")


@login_required
@require_POST
def reauth_passkey_verify(request: HttpRequest) -> HttpResponse:
    decision = mfa.attempt_reserve(request, request.user)
    if not decision.allowed:
        return ratelimit.limited_response(JsonResponse({"error": str(TOO_MANY)}), decision.retry_after)
    body = _json_body(request)
    try:
        mfa_webauthn.authentication_verify(request, request.user, credential=json.dumps(body.get("credential")))
    except mfa_webauthn.CeremonyFailed:
        return JsonResponse(
            {"error": _("This passkey could not be verified. Try again or use another way.")}, status=400
        )
    ratelimit.release(decision)
    mark_authenticated(request)
    mfa.session_mark_verified(request)
    return JsonResponse({"redirect": safe_next(request, str(body.get("next") or ""))})
