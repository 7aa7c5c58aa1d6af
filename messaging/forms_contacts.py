"""Forms of the Contacts page; the rules are the services' (``messaging.owner_contacts``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from messaging.owner_contact_models import OwnerContact

LEVELS = [(n, n) for n in range(1, 6)]


class ContactAddForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=OwnerContact.Kind.choices)
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=500,
        help_text=_("An e-mail address, a phone number (+14155550123) or an https:// URL; empty for Telegram."),
    )
    label = forms.CharField(label=_("Label"), required=False, max_length=100)
    first_level = forms.TypedChoiceField(
        label=_("Warnings from level"),
        choices=LEVELS,
        coerce=int,
        initial=3,
        help_text=_("This contact receives warnings from this level on (the account e-mail gets every one)."),
    )


class ContactCodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=12)
