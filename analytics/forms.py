from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.selectors import RangeError, SeriesRange, series_range


class RangeForm(forms.Form):
    """The date-range picker (a GET form): both dates inclusive, in the viewer's time zone."""

    from_ = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    interval = forms.ChoiceField(
        label=_("Per"),
        required=False,
        choices=[("auto", _("automatic")), ("hour", _("hour")), ("day", _("day")), ("week", _("week"))],
    )

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

    def series_range(self) -> SeriesRange:
        """The valid range, or the default one when the form has errors (they are shown)."""
        if self.is_valid():
            return self.cleaned_data["range"]
        return series_range(first_day=None, last_day=None)
