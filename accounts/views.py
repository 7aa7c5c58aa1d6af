from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts.api_keys import apikey_create, apikey_revoke
from accounts.forms import ApiKeyForm, ProfileForm, SignupConfirmForm, SignupForm
from accounts.identity import email_key
from accounts.login_guard import LoginGuard
from accounts.mfa_login import TwoStepLoginMixin
from accounts.models import ApiKey
from accounts.profile import PROFILE_FIELDS, profile_update
from accounts.reauth import reauth_required
from accounts.security_events import Kind, security_event_record
from accounts.signup import SignupRefused, signup_complete, signup_request, signup_token_read
from cradle_site import ratelimit
from cradle_site.querysets import get_owned_or_404
from cradle_site.ratelimit import Bucket, Rate


def signup(request: HttpRequest) -> HttpResponse:
    """Sign-up. A valid form always ends on the same "check your e-mail" page, whether or not
    the address or the name has an account (``accounts.signup`` says what the address is
    sent instead): the answer tells a visitor nothing about who is registered.

    Limited per client address (every attempt) and per e-mail address typed (every e-mail
    sent), like the password reset: the second bucket stops sign-up being used to flood one
    inbox, and it counts an address the same whether it has an account or not.
    """
    if request.user.is_authenticated:
        return redirect("home")
    if request.method == "POST":
        decision = ratelimit.reserve(
            [Bucket("signup:address", ratelimit.request_address(request), Rate.of(settings.RATE_LIMIT_SIGNUP))]
        )
        if not decision.allowed:
            return _limited_page(request, decision.retry_after)
    # The page's language is the account's first guess (the visitor reads it already).
    form = SignupForm(request.POST or None, initial={"language": translation.get_language()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        decision = ratelimit.reserve(
            [Bucket("signup:email", email_key(data["email"])[:320], Rate.of(settings.RATE_LIMIT_SIGNUP_EMAIL))]
        )
        if not decision.allowed:
            return _limited_page(request, decision.retry_after)
        signup_request(
            username=data["username"],
            email=data["email"],
            password=data["password1"],
            time_zone=data["time_zone"],
            language=data["language"],
        )
        return redirect("accounts:signup_sent")
    return render(request, "accounts/signup.html", {"form": form})


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_sent.html")


def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mail's link: make the account (a POST), under the name chosen at sign-up or,
    when that one is taken, another. Limited per client address like sign-up, since a taken
    name is what this page can tell."""
    if request.user.is_authenticated:
        return redirect("home")
    pending = signup_token_read(token)
    if pending is None:
        return render(request, "accounts/signup_confirm.html", {"valid": False}, status=400)
    if request.method == "POST":
        decision = ratelimit.reserve(
            [Bucket("signup:address", ratelimit.request_address(request), Rate.of(settings.RATE_LIMIT_SIGNUP))]
        )
        if not decision.allowed:
            return _limited_page(request, decision.retry_after)
        form = SignupConfirmForm(request.POST)
    else:
        form = SignupConfirmForm(initial={"username": pending.username})
    if request.method == "POST" and form.is_valid():
        try:
            user = signup_complete(pending=pending, username=form.cleaned_data["username"])
        except SignupRefused as refused:
            form.add_error(refused.field, refused.reason)
        else:
            security_event_record(user=user, kind=Kind.ACCOUNT_CREATED, request=request, actor=user)
            login(request, user, backend="accounts.backends.UsernameKeyBackend")
            # The next page is in the language just chosen; so is its greeting.
            with translation.override(user.language):
                messages.success(request, _("Welcome to Cradle, %(name)s.") % {"name": user.username})
            response = redirect("home")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language)
            return response
    return render(request, "accounts/signup_confirm.html", {"valid": True, "form": form, "email": pending.email})


class RateLimitedLoginView(TwoStepLoginMixin, auth_views.LoginView):
    """Log-in, refused for a while after repeated failures (``accounts.login_guard``);
    an account with a second factor goes on to the second step (``accounts.mfa_login``)."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        self.guard = LoginGuard(request, request.POST.get("username") or "")
        if not self.guard.allowed:
            form = self.get_form()
            form.add_error(None, _("Too many failed attempts. Please wait a few minutes and try again."))
            response = self.render_to_response(self.get_context_data(form=form))
            return ratelimit.limited_response(response, self.guard.retry_after)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        self.guard.failed()
        return super().form_invalid(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        self.guard.succeeded(response, form.get_user())
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, form.get_user().language)
        return response


class RateLimitedPasswordResetView(auth_views.PasswordResetView):
    """Each request may send an e-mail: limited per address and per e-mail address asked for.

    The second bucket is what stops "15 requests, 15 e-mails" to one victim from many
    addresses; it counts the address typed, folded, whether or not an account has it.
    """

    def post(self, request, *args, **kwargs):
        address = ratelimit.request_address(request)
        email = email_key(request.POST.get("email") or "")[:320]
        decision = ratelimit.reserve(
            [
                Bucket("password-reset:address", address, Rate.of(settings.RATE_LIMIT_PASSWORD_RESET_ADDRESS)),
                Bucket("password-reset:email", email, Rate.of(settings.RATE_LIMIT_PASSWORD_RESET_EMAIL)),
            ]
        )
        if not decision.allowed:
            return _limited_page(request, decision.retry_after)
        return super().post(request, *args, **kwargs)


def _limited_page(request: HttpRequest, retry_after: int) -> HttpResponse:
    return ratelimit.limited_response(render(request, "limited.html"), retry_after)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        profile_update(user=user, **{name: form.cleaned_data[name] for name in PROFILE_FIELDS})
        with translation.override(user.language):
            messages.success(request, _("Your profile has been saved."))
        response = redirect("accounts:profile")
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language)
        return response
    return render(request, "accounts/profile.html", {"form": form})


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The header's language switcher. A signed-in person's choice is also their profile's,
    or the next log-in would switch the site back to the old language."""
    response = set_language(request)
    chosen = response.cookies.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen is not None and request.user.is_authenticated and request.user.language != chosen.value:
        profile_update(user=request.user, language=chosen.value)
    return response


@login_required
@reauth_required(methods=("POST",))
def apikey_list(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None, user=request.user)
    new_key = None
    if request.method == "POST" and form.is_valid():
        new_key = apikey_create(
            user=request.user,
            name=form.cleaned_data["name"],
            permissions=form.cleaned_data["permissions"],
            expires_at=form.cleaned_data["expires_at"],
            request=request,
        )
        form = ApiKeyForm(user=request.user)
    keys = ApiKey.objects.owned_by(request.user)
    return render(request, "accounts/apikey_list.html", {"form": form, "keys": keys, "new_key": new_key})


@login_required
@require_POST
def apikey_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    api_key = get_owned_or_404(ApiKey.objects.all(), request.user, pk=pk)
    if apikey_revoke(api_key=api_key, request=request):
        messages.success(request, _("The key “%(name)s” has been revoked.") % {"name": api_key.name})
    return redirect("accounts:apikey_list")
