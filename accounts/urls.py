from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import path, reverse_lazy

from accounts import mfa_urls, security_views, views
from accounts.forms import EmailPasswordResetForm
from accounts.reauth import reauth_required

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_sent, name="signup_sent"),
    path("signup/confirm/<str:token>/", views.signup_confirm, name="signup_confirm"),
    path("login/", views.RateLimitedLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("language/", views.language_set, name="language_set"),
    path("keys/", views.apikey_list, name="apikey_list"),
    path("keys/<int:pk>/revoke/", views.apikey_revoke_view, name="apikey_revoke"),
    path("email/verify/send/", security_views.email_verify_resend, name="email_verify_resend"),
    path("email/verify/<str:token>/", security_views.email_verify, name="email_verify"),
    path("email/change/", security_views.email_change, name="email_change"),
    path("email/change/<str:token>/", security_views.email_change_confirm, name="email_change_confirm"),
    # The Activity page (the account's audit events) is ops.urls, under this same prefix.
    # Ends the other sessions and may revoke the API keys (accounts.security_views).
    path(
        "password/change/",
        login_required(reauth_required(security_views.PasswordChangeEndingSessionsView.as_view())),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/message_page.html"),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        views.RateLimitedPasswordResetView.as_view(
            template_name="accounts/form_page.html",
            form_class=EmailPasswordResetForm,
            email_template_name="accounts/email/password_reset.txt",
            subject_template_name="accounts/email/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/message_page.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        security_views.PasswordResetConfirmEndingSessionsView.as_view(
            template_name="accounts/form_page.html", success_url=reverse_lazy("accounts:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/message_page.html"),
        name="password_reset_complete",
    ),
]

# Two-factor log-in, its settings and re-authentication (accounts.mfa_urls).
urlpatterns += mfa_urls.urlpatterns
