"""Form widgets of the account pages."""

from __future__ import annotations

from django import forms


class TimeZoneSelect(forms.Select):
    """The canonical zones in one optgroup per region, with a search box that
    ``accounts/time-zone.js`` shows and wires up (hidden without JavaScript). Given
    ``from_browser=True`` (an unbound sign-up form), the script chooses the browser's zone."""

    template_name = "accounts/widgets/time_zone.html"

    def __init__(self, attrs: dict | None = None, choices=(), from_browser: bool = False) -> None:
        attrs = {**(attrs or {}), "data-time-zone": ""}
        if from_browser:
            attrs["data-from-browser"] = "1"
        super().__init__(attrs, choices)

    class Media:
        js = ("accounts/time-zone.js",)
