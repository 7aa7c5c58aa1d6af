"""Routes of the second step, the two-factor settings and re-authentication (added to ``accounts.urls``)."""

from django.urls import path

from accounts import mfa_views, reauth_views

urlpatterns = [
    path("login/verify/", mfa_views.login_verify, name="login_verify"),
    path("login/verify/passkey/options/", mfa_views.login_passkey_options, name="login_passkey_options"),
    path("login/verify/passkey/", mfa_views.login_passkey_verify, name="login_passkey_verify"),
    path("two-factor/", mfa_views.two_factor, name="two_factor"),
    path("two-factor/totp/", mfa_views.totp_add, name="totp_add"),
    path("two-factor/passkey/options/", mfa_views.passkey_add_options, name="passkey_add_options"),
    path("two-factor/passkey/", mfa_views.passkey_add_verify, name="passkey_add_verify"),
    path("two-factor/recovery-codes/", mfa_views.recovery_regenerate, name="recovery_regenerate"),
    path("two-factor/recovery-codes/new/", mfa_views.recovery_codes_new, name="recovery_codes_new"),
    path("two-factor/<str:kind>/<int:pk>/remove/", mfa_views.factor_remove, name="factor_remove"),
    path("reauth/", reauth_views.reauth, name="reauth"),
    path("reauth/passkey/options/", reauth_views.reauth_passkey_options, name="reauth_passkey_options"),
    path("reauth/passkey/", reauth_views.reauth_passkey_verify, name="reauth_passkey_verify"),
]
