"""Pages of the log-in's second step and of the two-factor settings.

The rules are in ``accounts.mfa`` (factors, codes), ``accounts.mfa_webauthn`` (the
ceremonies) and ``accounts.mfa_login`` (the pending log-in); these views only ask and tell.
Every change of the settings needs a recent authentication (``accounts.reauth``).
"""

from __future__ import annotations

import json

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import mfa, mfa_login, mfa_webauthn
from accounts.mfa_forms import RecoveryCodeForm, TotpCodeForm
from accounts.mfa_models import WebAuthnCredential
from accounts.reauth import needs_reauth, reauth_required
from accounts.security_events import Kind, security_event_record
from cradle_site import ratelimit

TOO_MANY = gettext_lazy("Too many attempts. Please wait a few minutes and try again.")


def _expired(request: HttpRequest) -> HttpResponse:
    messages.error(request, _("Your log-in took too long. Please enter your password again."))
    return redirect("accounts:login")


def _json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


# --- the log-in's second step ----------------------------------------------------------


def login_verify(request: HttpRequest) -> HttpResponse:
    user, data = mfa_login.pending_login(request)
    if user is None:
        return _expired(request)
    totp_form = TotpCodeForm(request.POST if request.POST.get("method") == "totp" else None)
    recovery_form = RecoveryCodeForm(request.POST if request.POST.get("method") == "recovery" else None)
    if request.method == "POST":
        form = totp_form if request.POST.get("method") == "totp" else recovery_form
        if form.is_valid():
            decision = mfa.attempt_reserve(request, user)
            if not decision.allowed:
                form.add_error(None, TOO_MANY)
                response = _second_step_page(request, user, totp_form, recovery_form)
                return ratelimit.limited_response(response, decision.retry_after)
            if form is totp_form:
                ok = mfa.totp_verify(user=user, code=form.cleaned_data["code"])
            else:
                ok = mfa.recovery_code_use(user=user, code=form.cleaned_data["recovery_code"])
            if ok:
                ratelimit.release(decision)
                if form is recovery_form:
                    left = mfa.recovery_codes_left(user)
                    _record(request, user, Kind.MFA_RECOVERY_CODE_USED, left=left)
                    messages.warning(
                        request,
                        _("You logged in with a recovery code; %(left)d remain. Make new ones if you are running out.")
                        % {"left": left},
                    )
                return redirect(mfa_login.pending_finish(request, user, data))
            field = "code" if form is totp_form else "recovery_code"
            form.add_error(field, _("This code is not right, or it was already used."))
    return _second_step_page(request, user, totp_form, recovery_form)


def _second_step_page(request, user, totp_form, recovery_form) -> HttpResponse:
    context = {
        "totp_form": totp_form,
        "recovery_form": recovery_form,
        "has_totp": mfa.totp_devices(user).exists(),
        "has_passkey": WebAuthnCredential.objects.filter(user=user).exists(),
        "has_recovery": mfa.recovery_codes_left(user) > 0,
    }
    return render(request, "accounts/login_verify.html", context)


@require_POST
def login_passkey_options(request: HttpRequest) -> HttpResponse:
    user, _data = mfa_login.pending_login(request)
    if user is None:
        return JsonResponse({"error": _("Your log-in took too long. Please enter your password again.")}, status=400)
    return HttpResponse(mfa_webauthn.authentication_options(request, user), content_type="application/json")


@require_POST
def login_passkey_verify(request: HttpRequest) -> HttpResponse:
    user, data = mfa_login.pending_login(request)
    if user is None:
        return JsonResponse({"error": _("Your log-in took too long. Please enter your password again.")}, status=400)
    decision = mfa.attempt_reserve(request, user)
    if not decision.allowed:
        return ratelimit.limited_response(JsonResponse({"error": str(TOO_MANY)}), decision.retry_after)
    try:
        mfa_webauthn.authentication_verify(request, user, credential=json.dumps(_json_body(request).get("credential")))
    except mfa_webauthn.CeremonyFailed:
        return JsonResponse(
            {"error": _("This passkey could not be verified. Try again or use another way.")}, status=400
        )
    ratelimit.release(decision)
    return JsonResponse({"redirect": mfa_login.pending_finish(request, user, data)})


# --- the settings ----------------------------------------------------------------------


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    devices = list(mfa.totp_devices(user))
    for device in devices:
        device.display_name = mfa.totp_display_name(device)
    context = {
        "totp_devices": devices,
        "passkeys": list(WebAuthnCredential.objects.filter(user=user)),
        "has_factor": mfa.user_has_second_factor(user),
        "recovery_left": mfa.recovery_codes_left(user),
    }
    return render(request, "accounts/two_factor.html", context)


def _after_first_factor(request: HttpRequest, had_factor: bool) -> list[str]:
    """A new factor proves itself in this session; the first one comes with recovery codes."""
    mfa.session_mark_verified(request)
    return [] if had_factor else mfa.recovery_codes_generate(user=request.user)


def _record(request: HttpRequest, user, kind: str, **data) -> None:
    """One security event for a change of second factors (shown on the Activity page)."""
    security_event_record(user=user, kind=kind, request=request, actor=user, data=data or None)


def _record_added(request: HttpRequest, factor: str, had_factor: bool, codes: list[str]) -> None:
    # One operation, one event: the first factor turns two-factor on (and comes with recovery
    # codes, counted in the same event); a further one is a factor added.
    if had_factor:
        _record(request, request.user, Kind.MFA_DEVICE_ADDED, factor=factor)
    else:
        _record(request, request.user, Kind.MFA_ENABLED, factor=factor, recovery_set=len(codes))


def _codes_page(request: HttpRequest, codes: list[str]) -> HttpResponse:
    response = render(request, "accounts/recovery_codes.html", {"codes": codes})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@reauth_required
def totp_add(request: HttpRequest) -> HttpResponse:
    device = mfa.totp_pending_device(request.user)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        had_factor = mfa.user_has_second_factor(request.user)
        if mfa.totp_confirm(device=device, code=form.cleaned_data["code"]):
            codes = _after_first_factor(request, had_factor)
            _record_added(request, "totp", had_factor, codes)
            messages.success(request, _("Your authenticator app is set up."))
            return _codes_page(request, codes) if codes else redirect("accounts:two_factor")
        form.add_error("code", _("This code is not right. Check the time on your phone and try the next one."))
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4, title=_("QR code for your authenticator app"))
    secret = device.config_url.split("secret=", 1)[1].split("&", 1)[0]
    response = render(request, "accounts/totp_add.html", {"form": form, "qr_svg": qr_svg, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@reauth_required(return_to=lambda request: reverse("accounts:two_factor"))
@require_POST
def passkey_add_options(request: HttpRequest) -> HttpResponse:
    return HttpResponse(mfa_webauthn.registration_options(request, request.user), content_type="application/json")


@login_required
@require_POST
def passkey_add_verify(request: HttpRequest) -> HttpResponse:
    # JSON: a stale session answers where to go, not a redirect fetch() would follow.
    if needs_reauth(request):
        return JsonResponse({"redirect": reverse("accounts:two_factor")}, status=403)
    body = _json_body(request)
    had_factor = mfa.user_has_second_factor(request.user)
    try:
        credential = mfa_webauthn.registration_verify(
            request, request.user, credential=json.dumps(body.get("credential")), name=str(body.get("name") or "")
        )
    except mfa_webauthn.CeremonyFailed:
        return JsonResponse({"error": _("This passkey could not be registered. Please try again.")}, status=400)
    codes = _after_first_factor(request, had_factor)
    _record_added(request, "passkey", had_factor, codes)
    if codes:
        # Shown once, on the next page; never kept after that.
        request.session["cradle_recovery_codes_once"] = codes
    messages.success(request, _("The passkey “%(name)s” was added.") % {"name": credential.name})
    return JsonResponse({"redirect": reverse("accounts:recovery_codes_new" if codes else "accounts:two_factor")})


@login_required
def recovery_codes_new(request: HttpRequest) -> HttpResponse:
    codes = request.session.pop("cradle_recovery_codes_once", None)
    if not codes:
        return redirect("accounts:two_factor")
    return _codes_page(request, codes)


@login_required
@reauth_required(return_to=lambda request: reverse("accounts:two_factor"))
@require_POST
def recovery_regenerate(request: HttpRequest) -> HttpResponse:
    if not mfa.user_has_second_factor(request.user):
        messages.error(request, _("Add an authenticator app or a passkey first."))
        return redirect("accounts:two_factor")
    codes = mfa.recovery_codes_generate(user=request.user)
    _record(request, request.user, Kind.MFA_RECOVERY_CODES, count=len(codes))
    return _codes_page(request, codes)


@login_required
@reauth_required(return_to=lambda request, kind, pk: reverse("accounts:two_factor"))
@require_POST
def factor_remove(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    removed = (
        mfa.totp_remove(user=request.user, device_pk=pk)
        if kind == "totp"
        else mfa.webauthn_remove(user=request.user, credential_pk=pk)
        if kind == "passkey"
        else False
    )
    if removed:
        # The last factor gone turns two-factor off: that one event says both.
        last = not mfa.user_has_second_factor(request.user)
        _record(request, request.user, Kind.MFA_DISABLED if last else Kind.MFA_DEVICE_REMOVED, factor=kind)
        messages.success(request, _("The second factor was removed."))
    return redirect("accounts:two_factor")
