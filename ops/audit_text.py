"""What an audit event says, per type, in the reader's language (STYLE.md "Events as data").

``audit_details(event)`` builds the short text after the event's label from its
``extra_data`` (changed field names, a key's name, a count); the label itself is the
``EventType``'s. No page parses a row's English: the row holds none.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from cradle_site.audit_vocabulary import EventType


def _fields(data: dict) -> str:
    names = data.get("fields") or []
    return _("fields: %(names)s") % {"names": ", ".join(str(n) for n in names)} if names else ""


def _name(data: dict) -> str:
    return f"“{data['name']}”" if data.get("name") else ""


def _new_email(data: dict) -> str:
    return str(data.get("new_email") or "")


def _count(key: str, text: str) -> Callable[[dict], str]:
    def render(data: dict) -> str:
        return text % {"n": data[key]} if isinstance(data.get(key), int) else ""

    return render


def _answered(data: dict) -> str:
    # Not "warning %(level)s": the browser walk reads that pattern as the English of a
    # message's history ("warning 1 sent; ...") and the words say less.
    return _("the answer to warning %(level)s") % {"level": data["level"]} if data.get("level") else ""


_DETAILS: dict[str, Callable[[dict], str]] = {
    EventType.API_KEY_CREATED: _name,
    EventType.API_KEY_REVOKED: _name,
    EventType.EMAIL_CHANGE_REQUESTED: _new_email,
    EventType.EMAIL_CHANGED: _new_email,
    EventType.STAFF_CHANGED_EMAIL: _new_email,
    EventType.MESSAGE_ANSWERED: _answered,
    EventType.MESSAGE_DELIVERED: lambda data: _count("recipients", _("%(n)s recipients"))(data),
    EventType.AUDIT_PURGED: lambda data: _count("rows", _("%(n)s events"))(data),
}


def audit_details(event) -> str:
    """The facts after the label: per type, else the changed fields' names (if any)."""
    data = event.extra_data or {}
    render = _DETAILS.get(event.event_type, _fields)
    return render(data) or ""
