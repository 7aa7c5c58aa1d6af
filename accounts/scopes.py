"""The fixed vocabulary of API key scopes.

Read and write per area, plus ``messages:checkin`` (a phone shortcut's or a script's
"I'm still here", messaging.api.CheckinView) and the seed's two narrow permissions (``can_create_task``,
``can_read_status``) for services that only queue posts and poll their status. A write
scope does not imply read: a key gets exactly what it lists, plus the narrow scopes its
area scopes cover (``IMPLIED``).
"""

from django.utils.translation import gettext_lazy as _

# The labels are what people read on the key form: no internal names (the seed's
# can_create_task / can_read_status are the two narrow scopes, accepted as aliases below).
SCOPES = {
    "account:read": _("Read your profile"),
    "messages:read": _("Read messages, recipients and status logs"),
    "messages:write": _("Create, change, reset, continue and revoke messages"),
    "messages:checkin": _("Check in: reset your waiting messages (and nothing else)"),
    "publishing:read": _("Read projects, sources, tasks and logs"),
    "publishing:write": _("Create and change projects, sources and tasks"),
    "tasks:create": _("Queue posts (create publishing tasks), nothing else"),
    "tasks:read_status": _("See the status of publishing tasks, nothing else"),
    "analytics:read": _("Read statistics"),
    "audit:read": _("Read your account's activity (the audit log)"),
}

# Scopes that change data: of no use to a viewer (read-only) account.
WRITE_SCOPES = frozenset({"messages:write", "messages:checkin", "publishing:write", "tasks:create"})

IMPLIED = {
    "messages:write": {"messages:checkin"},  # a key that may reset each message may check in
    "publishing:write": {"tasks:create"},
    "publishing:read": {"tasks:read_status"},
}

# The seed stored permissions as {"can_create_task": true, ...}; accept those names.
SEED_ALIASES = {"can_create_task": "tasks:create", "can_read_status": "tasks:read_status"}


def expand(scopes: list[str]) -> frozenset[str]:
    granted = set(scopes)
    for scope in scopes:
        granted |= IMPLIED.get(scope, set())
    return frozenset(granted)


def normalise(scopes: list[str]) -> list[str]:
    """Map seed aliases to scopes and raise ``ValueError`` naming any unknown scope."""
    result = []
    for scope in scopes:
        scope = SEED_ALIASES.get(scope, scope)
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; known scopes: {', '.join(sorted(SCOPES))}")
        if scope not in result:
            result.append(scope)
    return result
