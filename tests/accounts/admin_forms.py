"""Post the back office's user change form as staff would: every field as shown, plus changes."""

from __future__ import annotations

from django.urls import reverse


def admin_user_change(client, user, **changes):
    change = reverse("admin:accounts_user_change", args=[user.pk])
    form = client.get(change).context["adminform"].form
    data: dict = {}
    for name, field in form.fields.items():
        if name == "password":
            continue
        value = form.initial.get(name)
        if hasattr(field, "fields") and value is not None:  # split date and time
            data[f"{name}_0"], data[f"{name}_1"] = value.strftime("%Y-%m-%d"), value.strftime("%H:%M:%S")
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    data.update(changes)
    return client.post(change, data)
