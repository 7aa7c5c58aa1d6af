from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from messaging import ladder as ladders
from messaging import services
from messaging.channels import validate_contact
from messaging.models import Recipient
from messaging.sealed import HINT_MAX_LENGTH

# The limits are the services' rules (the API has them too); the form takes their numbers so
# the browser's maxlength and the form's own message match what the service would refuse.


def parse_steps(text: str, unit: str) -> list[int]:
    """A custom schedule as typed ("2, 1, 1", in days or hours) in seconds; ValueError for anything else."""
    size = ladders.HOUR if unit == "hours" else ladders.DAY
    numbers = [float(part) for part in text.replace("，", ",").split(",")]
    if any(n != n or n in (float("inf"), float("-inf")) for n in numbers):
        raise ValueError("not a number")
    return [round(n * size) for n in numbers]


class MessageForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=services.TITLE_MAX_LENGTH, required=False)
    # Not required here: a sealed message's text arrives as ``seal_envelope`` (see clean).
    content = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        strip=False,
        help_text=_("Encrypted at rest. Delivered only if you stop answering the warnings."),
    )
    initial_delay_months = forms.IntegerField(
        label=_("Initial delay (months)"),
        min_value=services.DELAY_MIN_MONTHS,
        max_value=settings.MESSAGING_MAX_DELAY_MONTHS,
        initial=6,
        help_text=_("The first warning comes after this many months (30 days each)."),
    )
    ladder = forms.ChoiceField(
        label=_("Warning schedule"),
        choices=ladders.choices,
        initial=ladders.SEED,
        required=False,  # a form posted without it (an older page, a script) keeps the standard schedule
        help_text=_("The standard schedule starts after the initial delay above; the others replace it."),
    )
    ladder_steps = forms.CharField(
        label=_("Custom schedule"),
        required=False,
        max_length=100,
        help_text=_(
            "For a custom schedule: the time before the first warning, then after each warning "
            "(the last one: until delivery), separated by commas, e.g. 2, 1, 1 - 1 to 5 warnings."
        ),
    )
    ladder_unit = forms.ChoiceField(
        label=_("Custom schedule in"),
        choices=[("days", _("days")), ("hours", _("hours"))],
        initial="days",
        required=False,
    )
    activity_resets = forms.BooleanField(
        label=_("My activity counts as a check-in"),
        required=False,
        help_text=_(
            "Logging in to Cradle or calling the API with your key resets this message, as if you had answered "
            "“I'm still here”."
        ),
    )
    contacts_from_level = forms.TypedChoiceField(
        label=_("Warn every contact from"),
        # Five literal strings: a lazy text formatted here would be frozen in the language of the import.
        choices=[
            ("", _("as each contact is set")),
            ("1", _("the first warning")),
            ("2", _("the second warning")),
            ("3", _("the third warning")),
            ("4", _("the fourth warning")),
            ("5", _("the final warning")),
        ],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_(
            "Your account e-mail gets every warning. Your other verified contacts get the warnings from the level "
            "each is set to on your contacts page, unless you choose a level for this message here."
        ),
    )
    include_text_in_notice = forms.BooleanField(
        label=_("Include the text in the e-mail"),
        required=False,
        help_text=_(
            "Off: your recipients get a short notice with a link to a page of their own that shows the message "
            "and its files. On: the text is in the e-mail too, where it stays in their mailbox."
        ),
    )
    attachments_keep_days = forms.IntegerField(
        label=_("Delete the attached files this many days after delivery"),
        required=False,
        min_value=1,
        max_value=services.KEEP_DAYS_MAX,
        help_text=_("Leave it empty to keep them until you delete the message."),
    )

    sealed = forms.BooleanField(
        label=_("Seal it with a passphrase"),
        required=False,
        help_text=_(
            "Your browser encrypts the text and the files with a passphrase that Cradle never receives; "
            "your recipients type it to open the message."
        ),
    )
    seal_hint = forms.CharField(
        label=_("Passphrase hint (delivered in clear)"),
        max_length=HINT_MAX_LENGTH,
        required=False,
        help_text=_("Something only your recipients will understand, e.g. “the name of our first dog”."),
    )
    # Written by messaging/static/messaging/seal.js: the envelope of the sealed text (messaging.sealed).
    seal_envelope = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)

    def clean(self):
        data = super().clean()
        self._clean_seal(data)
        data["ladder"] = data.get("ladder") or ladders.SEED
        if data["ladder"] != ladders.CUSTOM:
            data["ladder_steps_seconds"] = None
            return data
        try:
            data["ladder_steps_seconds"] = parse_steps(data.get("ladder_steps") or "", data.get("ladder_unit") or "")
        except ValueError:
            self.add_error("ladder_steps", _("Give numbers separated by commas, e.g. 2, 1, 1."))
            return data
        try:
            ladders.clean_custom(data["ladder_steps_seconds"])
        except ValidationError as exc:
            self.add_error("ladder_steps", exc.message_dict["ladder_steps"])
        return data

    def _clean_seal(self, data: dict) -> None:
        """Sealed: the text is the browser's envelope, and plain text in ``content`` means the
        script did not run; never saved as "sealed". Not sealed: the text is required."""
        content = data.get("content") or ""
        if not data.get("sealed"):
            if not content.strip():
                self.add_error("content", _("This field is required."))
            return
        if content.strip() or not data.get("seal_envelope"):
            self.add_error(
                "sealed",
                _(
                    "Sealing happens in your browser and needs JavaScript: this text arrived unsealed, so it was "
                    "not saved. Turn JavaScript on, or untick “Seal it with a passphrase”."
                ),
            )
            return
        data["content"] = data["seal_envelope"]

    def service_kwargs(self) -> dict:
        """The cleaned form as the services take it (messaging.services.message_create)."""
        skip = ("ladder", "ladder_steps", "ladder_unit", "seal_envelope")
        data = {k: v for k, v in self.cleaned_data.items() if k not in skip}
        data.pop("ladder_steps_seconds", None)
        data["ladder_name"] = self.cleaned_data["ladder"]
        data["ladder_steps"] = self.cleaned_data.get("ladder_steps_seconds")
        return data

    @staticmethod
    def initial_for(message) -> dict:
        """The ladder fields of the edit page, in days when every step is whole days."""
        name = ladders.ladder_name(message)
        if name != ladders.CUSTOM:
            return {"ladder": name}
        seconds = message.ladder_seconds
        unit, size = ("days", ladders.DAY) if all(s % ladders.DAY == 0 for s in seconds) else ("hours", ladders.HOUR)
        return {"ladder": name, "ladder_unit": unit, "ladder_steps": ", ".join(f"{s / size:g}" for s in seconds)}


class PauseForm(forms.Form):
    until = forms.DateTimeField(
        label=_("Away until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Here, not on the field: a lazy text formatted at import is frozen in English (and at
        # the limit the settings had then).
        self.fields["until"].help_text = _("In your time zone; at most %(days)d days ahead.") % {
            "days": settings.MESSAGING_PAUSE_MAX_DAYS
        }


class RecipientForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=services.RECIPIENT_NAME_MAX_LENGTH)
    # The initial value is what the select shows, so an untouched spare row counts as empty
    # (not "changed") and is skipped instead of failing as "this field is required".
    contact_type = forms.ChoiceField(
        label=_("Channel"), choices=Recipient.ContactType.choices, initial=Recipient.ContactType.EMAIL
    )
    contact = forms.CharField(
        label=_("Contact"),
        max_length=services.RECIPIENT_CONTACT_MAX_LENGTH,
        help_text=_("E-mail address, https:// URL, or +E.164 phone number."),
    )
    tell_named = forms.BooleanField(label=_("Tell them they are named"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("contact_type") and data.get("contact"):
            try:
                data["contact"] = validate_contact(data["contact_type"], data["contact"])
            except ValidationError as exc:
                self.add_error("contact", exc)
        return data


class BaseRecipientFormSet(forms.BaseFormSet):
    # Django's own words ("Please submit at least 1 form.") mean nothing to the person writing.
    default_error_messages = {"too_few_forms": _("Name at least one recipient.")}

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        # The rows sit in a table whose column headings are not <label>s: name each control
        # with its row ("Recipient 2: contact") so a screen reader says what it is.
        if index is not None:
            for name, field in form.fields.items():
                what = _("Remove") if name == "DELETE" else field.label
                field.widget.attrs["aria-label"] = _("Recipient %(row)s: %(field)s") % {"row": index + 1, "field": what}
        # One help text under the table serves every row (an id per row would point nowhere).
        form.fields["contact"].widget.attrs["aria-describedby"] = "recipients-help"

    def recipient_forms(self) -> list[forms.Form]:
        """The rows that name a recipient (not the empty or deleted ones), in order: the
        service's ``recipients[i]`` is the i-th of these."""
        return [form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]

    def recipients(self) -> list[dict]:
        return [
            {k: form.cleaned_data[k] for k in ("name", "contact", "contact_type", "tell_named")}
            for form in self.recipient_forms()
        ]


RecipientFormSet = forms.formset_factory(
    RecipientForm,
    formset=BaseRecipientFormSet,
    extra=1,
    min_num=1,
    validate_min=True,
    can_delete=True,
    max_num=services.RECIPIENTS_MAX,
)


class RevokeByKeyForm(forms.Form):
    key = forms.CharField(
        label=_("Revocation key"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))
