from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from cradle_site.querysets import MAX_ID
from publishing import services
from publishing.models import ContentSource, Project, PublishingTask

_SLOT = re.compile(
    r"(?:[A-Za-z\u5468][A-Za-z\u5468\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u65e5,\uff0c-]+[ \t]+)?\d{1,2}:\d{2}"
)


class ProjectForm(forms.ModelForm):
    alert_webhook_url = forms.URLField(
        label=_("Alert webhook URL"),
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text=_("Optional: Cradle also POSTs each alert here, signed (Standard Webhooks). https only."),
    )
    slot_times_text = forms.CharField(
        label=_("Posting times"),
        required=False,
        help_text=_(
            "Times of day in your time zone, separated by commas, e.g. 09:00, 13:30; limit one to some days "
            "with Mon-Fri 09:00 or Sat 11:00. Leave empty to use the interval."
        ),
    )

    class Meta:
        model = Project
        fields = [
            "name",
            "description",
            "slot_interval_minutes",
            "daily_cap",
            "duplicate_window_days",
            "evergreen_after_days",
            "paused",
            "alert_email",
            "alert_webhook_url",
        ]
        help_texts = {
            "alert_email": _(
                "When a post fails for good, X rejects the credentials, a source keeps failing or the queue runs dry."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["slot_times_text"].initial = ", ".join(self.instance.slot_times or [])

    def cleaned_values(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        raw = self.cleaned_data.get("slot_times_text") or ""
        # Found, not split: "Mon,Wed 17:30" holds a comma of its own. What is left over is
        # handed on as one more entry, for the services to refuse with its text.
        found = [" ".join(match.split()) for match in _SLOT.findall(raw)]
        leftover = _SLOT.sub(" ", raw).strip(" ,;\n\r\t")
        values["slot_times"] = found + ([leftover] if leftover else [])
        return values


class CredentialsForm(forms.Form):
    """Write-only: the fields are never filled back in, so the secrets never leave."""

    x_consumer_key = forms.CharField(label=_("API key"), widget=forms.PasswordInput(render_value=False))
    x_consumer_secret = forms.CharField(label=_("API key secret"), widget=forms.PasswordInput(render_value=False))
    x_access_token = forms.CharField(label=_("Access token"), widget=forms.PasswordInput(render_value=False))
    x_access_token_secret = forms.CharField(
        label=_("Access token secret"), widget=forms.PasswordInput(render_value=False)
    )


class SourceForm(forms.Form):
    source_type = forms.ChoiceField(label=_("Type"), choices=ContentSource.SourceType.choices)
    path_or_identifier = forms.CharField(
        label=_("Folder, feed address or Drive folder id"), max_length=services.SOURCE_PATH_MAX_LENGTH
    )
    credential = forms.CharField(
        label=_("Drive credential (optional)"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("An API key or access token for this Drive folder; empty uses the Google account connected below."),
    )


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + list(PublishingTask.Status.choices)
    )
    project = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)


class TaskChangeForm(forms.Form):
    priority = forms.IntegerField(
        label=_("Priority"), required=False, min_value=services.PRIORITY_MIN, max_value=services.PRIORITY_MAX
    )
    scheduled_at = forms.DateTimeField(
        label=_("Scheduled for"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class MastodonConnectForm(forms.Form):
    instance_url = forms.CharField(
        label=_("Your Mastodon instance"),
        max_length=255,
        help_text=_("The server your account is on, e.g. mastodon.social. You approve Cradle there."),
        widget=forms.TextInput(attrs={"placeholder": "mastodon.social", "autocomplete": "url", "inputmode": "url"}),
    )


class BlueskyConnectForm(forms.Form):
    handle = forms.CharField(
        label=_("Bluesky handle"),
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": "alice.bsky.social", "autocomplete": "username"}),
    )
    app_password = forms.CharField(
        label=_("App password"),
        max_length=100,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=_(
            "An app password is a separate password for one app: it can post but cannot change your account, "
            "and you can revoke it at any time. Make one in Bluesky under Settings → Privacy and security → "
            "App passwords; never give Cradle your main password."
        ),
    )
