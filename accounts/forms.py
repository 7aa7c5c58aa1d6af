from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from accounts import scopes
from accounts.api_keys import validate_expiry
from accounts.models import User
from accounts.time_zones import canonical_time_zones, grouped_choices
from accounts.widgets import TimeZoneSelect
from cradle_site import dates

PREFERENCE_LABELS = {"time_zone": _("Time zone"), "language": _("Language")}


def language_choices() -> list[tuple[str, str]]:
    """Each language named in itself ("English", "简体中文"): a reader who cannot read the
    page's language still finds their own."""
    return [(code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]


def time_zone_field(*, from_browser: bool = False, current: str | None = None) -> forms.ChoiceField:
    """The canonical zones grouped by region (``accounts.time_zones``). An account that
    still holds a legacy alias (chosen before the list was canonical) keeps it as a choice."""
    choices = grouped_choices()
    if current and current not in canonical_time_zones():
        choices = [*choices, (current, current)]
    return forms.ChoiceField(
        label=PREFERENCE_LABELS["time_zone"],
        choices=choices,
        initial="UTC",
        widget=TimeZoneSelect(from_browser=from_browser),
    )


def language_field() -> forms.ChoiceField:
    return forms.ChoiceField(label=PREFERENCE_LABELS["language"], choices=language_choices())


class SignupForm(forms.Form):
    """What sign-up asks. It checks only what the typed text itself can tell (a valid name,
    a valid address, a good password): never whether a name or an address is taken, which
    would tell a visitor who has an account (``accounts.signup`` decides that, by e-mail)."""

    username = User._meta.get_field("username").formfield()
    email = User._meta.get_field("email").formfield()
    time_zone = time_zone_field()
    language = language_field()
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password confirmation"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Enter the same password as before, for verification."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Unbound, the browser's zone is chosen by time-zone.js; bound, what was sent stays.
        self.fields["time_zone"] = time_zone_field(from_browser=not self.is_bound)

    def clean_username(self) -> str:
        return User.normalize_username(self.cleaned_data["username"])

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean(self) -> dict:
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two password fields didn’t match."))
        elif first:
            candidate = User(username=data.get("username") or "", email=data.get("email") or "")
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as error:
                self.add_error("password2", error)
        return data


class SignupConfirmForm(forms.Form):
    """The confirm link's page: the name, kept from sign-up or chosen again if it is taken."""

    username = User._meta.get_field("username").formfield()

    def clean_username(self) -> str:
        return User.normalize_username(self.cleaned_data["username"])


class ProfileForm(forms.ModelForm):
    # Not the e-mail: it changes only through a link sent to the new address (EmailChangeForm).
    class Meta:
        model = User
        fields = ("time_zone", "language")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"] = time_zone_field(current=self.instance.time_zone)
        self.fields["language"] = language_field()


class EmailPasswordResetForm(PasswordResetForm):
    """Django's reset form, with the site's word for the address ("E-mail", not "Email")."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("E-mail address")


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label=_("New e-mail address"), max_length=254)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if email.lower() == self.user.email.lower():
            raise forms.ValidationError(_("This is already your account's address."))
        if User.objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists():
            raise forms.ValidationError(_("An account with this e-mail address already exists."))
        return email


class PasswordChangeEndingSessionsForm(PasswordChangeForm):
    """Django's password change, plus the choice to revoke every API key in the same step."""

    revoke_api_keys = forms.BooleanField(
        label=_("Also revoke all my API keys"),
        required=False,
        help_text=_(
            "Your other sessions are logged out in any case; scripts using your keys stop only if you tick this."
        ),
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the key is for, e.g. “backup script”."))
    permissions = forms.MultipleChoiceField(
        label=_("Scopes"), choices=list(scopes.SCOPES.items()), widget=forms.CheckboxSelectMultiple
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        validators=[dates.validate_in_window, validate_expiry],
        help_text=_("Optional, YYYY-MM-DD HH:MM in your time zone. Leave empty for a key that does not expire."),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.can_write:
            # A viewer's key could never write (the API refuses viewers' writes): offer only what works.
            field = self.fields["permissions"]
            field.choices = [(scope, label) for scope, label in field.choices if scope not in scopes.WRITE_SCOPES]
            field.help_text = _("Your account is read only, so its keys can only read.")
