"""A status log as the owner reads it: rendered from ``status`` + ``data``, in their language, times in their zone.

One template per status (``TEMPLATES``; a test fails when a status has none), reading the keys
``messaging.history`` writes. A template returns the sentence its facts allow; when a staff
member acted, one sentence saying so follows (alone for the admin's answers logged before the
level was recorded). A row without ``data`` (one that migration 0004 could not read, such as
an old demo row) is shown as its stored ``details``. Nothing here parses English.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from messaging.channels import FailureKind
from messaging.history import ActorKind
from messaging.models import Recipient, StatusLog, TrustedAccess

Status = StatusLog.Status


def _when(value: str) -> str:
    return formats.date_format(timezone.localtime(datetime.fromisoformat(value)), "DATETIME_FORMAT")


def _warning(data: dict) -> str:
    # The time in brackets: an English time can end in "p.m.", and a full stop after it doubles.
    return _("Warning %(level)s sent (next step: %(when)s).") % {
        "level": data["level"],
        "when": _when(data["next_step_at"]),
    }


def _reset(data: dict) -> str:
    if "from_level" not in data:
        return ""  # a staff reset logged before the level was recorded
    if data.get("all_messages"):
        return _("Reset with all messages, from level %(level)s.") % {"level": data["from_level"]}
    return _("Reset from level %(level)s.") % {"level": data["from_level"]}


def _continued(data: dict) -> str:
    if "level" not in data:
        return ""  # a staff answer logged before the level was recorded
    return _("Continued at level %(level)s.") % {"level": data["level"]}


def _revoked(data: dict) -> str:
    kind = data["actor"]["kind"]
    if kind == ActorKind.OWNER:
        return _("Revoked by the owner.")
    if kind == ActorKind.REVOCATION_KEY:
        return _("Revoked with the revocation key.")
    if kind == ActorKind.CHECKIN_LINK:
        return _("Revoked with the check-in link of a warning e-mail.")
    return _("Revoked.")


def _delivered(data: dict) -> str:
    if not data["recipients"]:
        return _("There was no one to deliver to.")
    return _("Delivered to %(count)s recipient(s).") % {"count": data["recipients"]}


def _channel(value: str) -> str:
    return str(Recipient.ContactType(value).label) if value in Recipient.ContactType.values else value


def _delivery_failed(data: dict) -> str:
    if data.get("error_kind") == FailureKind.PERMANENT:
        text = _(
            "%(name)s (%(channel)s), attempt %(attempt)s: the address refused the message for good "
            "(it may no longer exist); staff have been alerted: %(error)s"
        )
    elif data.get("maybe_sent"):
        text = _(
            "%(name)s (%(channel)s), attempt %(attempt)s got no answer in time, so it may have arrived; "
            "it will be sent again with the same delivery id, so the recipient can drop the copy: %(error)s"
        )
    elif data["final"]:  # a row from when transient failures were given up after a few attempts
        text = _(
            "%(name)s (%(channel)s), attempt %(attempt)s failed; Cradle has stopped trying and staff can retry: %(error)s"
        )
    else:
        text = _("%(name)s (%(channel)s), attempt %(attempt)s failed; it will be tried again: %(error)s")
    return text % {
        "name": data["recipient"],
        "channel": _channel(data["channel"]),
        "attempt": data["attempt"],
        "error": data["error"],
    }


def _paused(data: dict) -> str:
    # The time in brackets: an English time can end in "p.m.", and a full stop after it doubles.
    if data.get("all_messages"):
        return _("Paused with all messages (until %(when)s).") % {"when": _when(data["until"])}
    return _("Paused (until %(when)s).") % {"when": _when(data["until"])}


def _pause_ended(data: dict) -> str:
    return _("The pause was ended early; the schedule goes on with the full interval.")


def _unreachable(data: dict) -> str:
    return _(
        "Owner unreachable on every channel: each of your contacts refused warning %(level)s for good "
        "for %(days)s days (since %(when)s), so it counts as sent; staff have been alerted."
    ) % {"level": data["level"], "days": data["grace_days"], "when": _when(data["since"])}


def _link_opened(data: dict) -> str:
    return _("%(name)s opened their delivery page for the first time.") % {"name": data["recipient"]}


def _link_sent(data: dict) -> str:
    if data["reason"] == "renewed":
        text = _("%(name)s (%(channel)s) asked for a new link to their delivery page; it was sent.")
    else:
        text = _("A new link to the delivery page was sent to %(name)s (%(channel)s).")
    return text % {"name": data["recipient"], "channel": _channel(data["channel"])}


def _trusted_requested(data: dict) -> str:
    if data["mode"] == TrustedAccess.Mode.CONTACT:
        text = _(
            "%(name)s, your trusted contact, asked for this message. Unless you refuse, it is delivered to "
            "%(name)s only (%(when)s)."
        )
    else:
        text = _(
            "%(name)s, your trusted contact, asked for this message. Unless you refuse, it is delivered to "
            "its recipients (%(when)s)."
        )
    return text % {"name": data["contact"], "when": _when(data["grant_at"])}


def _trusted_refused(data: dict) -> str:
    return _("The request of %(name)s was refused.") % {"name": data["contact"]}


def _trusted_granted(data: dict) -> str:
    if not data["started"]:
        return _("The request of %(name)s was granted; the message was already being delivered.") % {
            "name": data["contact"]
        }
    if data["mode"] == TrustedAccess.Mode.CONTACT:
        return _("The request of %(name)s was granted: the message is delivered to %(name)s.") % {
            "name": data["contact"]
        }
    return _("The request of %(name)s was granted: the message is delivered to its recipients.") % {
        "name": data["contact"]
    }


TEMPLATES: dict[str, Callable[[dict], str]] = {
    Status.WARNING_1: _warning,
    Status.WARNING_2: _warning,
    Status.WARNING_3: _warning,
    Status.WARNING_4: _warning,
    Status.WARNING_5: _warning,
    Status.WARNING_RESET: _reset,
    Status.CONTINUED: _continued,
    Status.REVOKED: _revoked,
    Status.DELIVERED: _delivered,
    Status.DELIVERY_FAILED: _delivery_failed,
    Status.PAUSED: _paused,
    Status.PAUSE_ENDED: _pause_ended,
    Status.OWNER_UNREACHABLE: _unreachable,
    Status.LINK_OPENED: _link_opened,
    Status.LINK_SENT: _link_sent,
    Status.TRUSTED_REQUESTED: _trusted_requested,
    Status.TRUSTED_REFUSED: _trusted_refused,
    Status.TRUSTED_GRANTED: _trusted_granted,
}


# Answers the owner gave without answering on a page: the history says which way (messaging.history).
_HOW: dict[str, Callable[[], str]] = {
    ActorKind.CHECKIN_LINK: lambda: _("By the check-in link in a warning e-mail."),
    ActorKind.PING_URL: lambda: _("By your personal check-in URL."),
    ActorKind.LOG_IN: lambda: _("By your log-in (this message counts your activity as a check-in)."),
    ActorKind.API_CALL: lambda: _("By an API call with your key (this message counts your activity as a check-in)."),
    ActorKind.TRUSTED_CONTACT: lambda: _("By a trusted contact."),
}


def log_text(*, status: str, data: dict, details: str) -> str:
    """The row in the active language and time zone; ``details`` as stored when it has no ``data``."""
    if not data:
        return details
    what = TEMPLATES[status](data)
    actor = data.get("actor", {})
    how = _HOW.get(actor.get("kind"))
    if how is not None and status != Status.REVOKED:  # a revocation's sentence names the link already
        # Two sentences: joined by a space in English, by nothing in Chinese.
        return _("%(what)s %(by)s") % {"what": what, "by": how()} if what else how()
    if actor.get("kind") != ActorKind.STAFF:
        return what
    by = _("By staff (%(name)s).") % {"name": actor["name"]}
    # Two sentences: joined by a space in English, by nothing in Chinese.
    return _("%(what)s %(by)s") % {"what": what, "by": by} if what else by
