"""The Activity page's filters: an event type and a date range (days in the reader's time zone, as the page shows times)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site.audit_vocabulary import EventType


class AuditFilterForm(forms.Form):
    type = forms.ChoiceField(label=_("Event"), required=False, choices=[("", _("Every event")), *EventType.choices])
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise ValidationError({"end": _("The end date is before the start date.")})
        return cleaned

    def apply(self, queryset):
        """``queryset`` narrowed to the valid filters (call after ``is_valid``)."""
        data, zone = self.cleaned_data, timezone.get_current_timezone()
        if data.get("type"):
            queryset = queryset.filter(event_type=data["type"])
        if data.get("start"):
            queryset = queryset.filter(created_at__gte=datetime.combine(data["start"], time.min, tzinfo=zone))
        if data.get("end"):
            end = datetime.combine(data["end"], time.min, tzinfo=zone) + timedelta(days=1)
            queryset = queryset.filter(created_at__lt=end)
        return queryset
