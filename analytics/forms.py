from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.selectors import RangeError, SeriesRange, series_range
from publishing.models import Network

ISO_DATE = "%Y-%m-%d"


class RangeForm(forms.Form):
    """The date-range picker (a GET form): both dates inclusive, in the viewer's time zone."""

    # An <input type="date"> takes only YYYY-MM-DD: the localised default (2026/03/01 in
    # Chinese) left the Chinese picker empty.
    from_ = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE)
    )
    to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE))
    interval = forms.ChoiceField(
        label=_("Per"),
        required=False,
        choices=[("auto", _("automatic")), ("hour", _("hour")), ("day", _("day")), ("week", _("week"))],
    )
    # The publishing figures of one network (issue 19), or of all of them (the default).
    network = forms.ChoiceField(label=_("Network"), required=False, choices=[("", _("all networks")), *Network.choices])

    def add_prefix(self, field_name):
        # "from" is a Python keyword: the field is from_, its query parameter "from".
        return "from" if field_name == "from_" else super().add_prefix(field_name)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned["range"] = series_range(
                first_day=cleaned.get("from_"), last_day=cleaned.get("to"), interval=cleaned.get("interval") or "auto"
            )
        except RangeError as exc:
            self.add_error("from_" if exc.field == "from" else exc.field, exc.reason)
        return cleaned

    def chosen_network(self) -> str | None:
        """The network chosen, or None for all (also when the form has errors)."""
        return (self.cleaned_data.get("network") or None) if self.is_valid() else None

    def series_range(self) -> SeriesRange:
        """The valid range, or the default one when the form has errors (they are shown).

        The date fields then show the range in force: a page opened without dates (or with
        only one) shows the defaulted days in the picker, not empty fields beside charts
        of some week the viewer has to guess. A form with errors keeps what was typed.
        """
        if self.is_valid():
            rng = self.cleaned_data["range"]
            self._show(rng)
            return rng
        rng = series_range(first_day=None, last_day=None)
        if not self.is_bound:
            self._show(rng)
        return rng

    def _show(self, rng: SeriesRange) -> None:
        shown = {"from": rng.first_day.isoformat(), "to": rng.last_day.isoformat()}
        if not self.is_bound:
            self.initial = {"from_": rng.first_day, "to": rng.last_day, "interval": "auto"}
            return
        data = self.data.copy()
        for name, value in shown.items():
            if not data.get(name):
                data[name] = value
        self.data = data
