from django import forms
from django.contrib.auth.forms import PasswordChangeForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts import scopes
from accounts.api_keys import validate_expiry
from accounts.models import User
from cradle_site import dates

# The model fields have no translated names; without these the labels stay English.
PREFERENCE_LABELS = {"time_zone": _("Time zone"), "language": _("Language")}


class SignupForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "email", "time_zone", "language")
        labels = PREFERENCE_LABELS

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this e-mail address already exists."))
        return email


class ProfileForm(forms.ModelForm):
    # Not the e-mail: it changes only through a link sent to the new address (EmailChangeForm).
    class Meta:
        model = User
        fields = ("time_zone", "language")
        labels = PREFERENCE_LABELS


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
            "Your other sessions are signed out in any case; scripts using your keys stop only if you tick this."
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
