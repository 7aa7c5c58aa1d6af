"""What each status-log row says, built in one place: the facts as ``data``, the English as ``details``.

Every writer of a StatusLog (the sweep, delivery, the services, the admin through the services)
takes its fields from one function here, so the keys of ``data`` are spelled once, next to the
English ``details`` kept for the audit (admin, API). The pages never read ``details`` when
``data`` is there: ``messaging.log_text`` renders ``status`` + ``data`` in the reader's language.

The keys per status (all values JSON: ints, bools, strings, ISO-8601 times):
- WARNING_n: ``level``, ``next_step_at``, ``actor``
- WARNING_RESET: ``from_level``, ``all_messages``, ``actor``
- CONTINUED: ``level``, ``actor``
- REVOKED: ``actor``
- PAUSED: ``until``, ``all_messages``, ``actor``
- PAUSE_ENDED: ``all_messages``, ``actor`` (ended early; a pause that runs out writes no row)
- DELIVERED: ``recipients`` (how many; 0 when there was no one), ``actor``
- OWNER_UNREACHABLE: ``level``, ``since`` (when the last contact started refusing it), ``grace_days``,
  ``contacts`` (the contact keys that refused it: ``account``, ``c<id>``), ``actor``
- DELIVERY_FAILED: ``recipient_id``, ``recipient``, ``channel``, ``attempt``, ``final``, ``error``,
  ``error_kind`` (``messaging.channels.FailureKind``; absent on rows from before it),
  ``maybe_sent`` (the request left and no answer came: it may have arrived; absent on rows from
  before it), ``actor``.
  ``final`` is true when Cradle does not try again by itself: since failures were split into
  transient and permanent, exactly when ``error_kind`` is ``permanent`` (staff are alerted);
  on older rows, when the attempts then allowed ran out.
- LINK_OPENED: ``recipient_id``, ``recipient``, ``link_id`` (the recipient's delivery page was
  opened for the first time through that link; a mail scanner that follows links counts too).
- LINK_SENT: ``recipient_id``, ``recipient``, ``channel``, ``link_id``, ``reason``
  (``DeliveryLink.Reason``: renewed by the recipient, re-sent by staff), ``actor``.
- TRUSTED_REQUESTED: ``request_id``, ``contact_id``, ``contact`` (the contact's name), ``grant_at``,
  ``mode`` (``TrustedAccess.Mode`` of this message), ``actor`` (the trusted contact).
- TRUSTED_REFUSED: ``request_id``, ``contact_id``, ``contact``, ``actor`` (the owner or staff).
- TRUSTED_GRANTED: ``request_id``, ``contact_id``, ``contact``, ``mode``, ``started`` (false when the
  message was already being delivered by its ladder: nothing more was queued), ``actor`` (the job).

``actor`` is ``{"kind": ...}`` (``ActorKind``: the owner logged in, the check-in link, the ping URL,
the owner's activity (a log-in, an API call) for a message that opted in, staff, the revocation key, a job) with ``name`` (the staff member's username, or the job's name) and
``user_id`` (staff) where they apply. Rows written before ``data`` existed were filled once by
migration 0004 from their English; the few it could not read keep ``data == {}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypedDict

from cradle_site import audit_vocabulary as audit
from messaging.channels import FailureKind
from messaging.models import Recipient, StatusLog

ERROR_LIMIT = 2000  # as Delivery.last_error: a relay's whole HTML error page is not history


class ActorKind(StrEnum):
    OWNER = "owner"
    STAFF = "staff"
    REVOCATION_KEY = "revocation_key"  # anyone holding the key, logged in or not
    RECIPIENT = "recipient"  # a recipient, through the link to their delivery page
    JOB = "job"
    # The owner, proven by a token rather than a log-in (messaging.links, messaging.ping):
    CHECKIN_LINK = "checkin_link"  # the single-use link in a warning e-mail
    PING_URL = "ping_url"  # the personal check-in URL (POST /ping/<token>)
    # The owner's activity, for the messages that opted in (messaging.activity):
    LOG_IN = "log_in"  # a log-in to the site
    API_CALL = "api_call"  # an API call with one of the owner's keys
    TRUSTED_CONTACT = "trusted_contact"  # a trusted contact, through their personal page (messaging.trusted)


@dataclass(frozen=True)
class Actor:
    """Who made a row happen: the owner, a staff member, the revocation key, or a job."""

    kind: ActorKind
    name: str = ""
    user_id: int | None = None

    def as_data(self) -> dict:
        data: dict = {"kind": str(self.kind)}
        if self.name:
            data["name"] = self.name
        if self.user_id is not None:
            data["user_id"] = self.user_id
        return data


OWNER = Actor(ActorKind.OWNER)
REVOCATION_KEY = Actor(ActorKind.REVOCATION_KEY)
CHECKIN_LINK = Actor(ActorKind.CHECKIN_LINK)
PING_URL = Actor(ActorKind.PING_URL)
LOG_IN = Actor(ActorKind.LOG_IN)
API_CALL = Actor(ActorKind.API_CALL)
SWEEP = Actor(ActorKind.JOB, name="sweep")
DELIVERY = Actor(ActorKind.JOB, name="delivery")
ESCALATION = Actor(ActorKind.JOB, name="warnings")
RECIPIENT = Actor(ActorKind.RECIPIENT)
TRUSTED_CONTACT = Actor(ActorKind.TRUSTED_CONTACT)
TRUSTED_GRANTS = Actor(ActorKind.JOB, name="trusted_grants")


def staff(user) -> Actor:
    """A staff member acting from the back office."""
    return Actor(ActorKind.STAFF, name=user.get_username(), user_id=user.pk)


# The message history's actor, as the audit log names it (cradle_site.audit_vocabulary):
# the owner and their activity are whoever the request says (signed in, or an API key).
_AUDIT_KINDS = {
    ActorKind.STAFF: audit.ActorKind.STAFF,
    ActorKind.REVOCATION_KEY: audit.ActorKind.PUBLIC,
    ActorKind.JOB: audit.ActorKind.JOB,
    ActorKind.CHECKIN_LINK: audit.ActorKind.CHECKIN_LINK,
    ActorKind.PING_URL: audit.ActorKind.PING_URL,
    ActorKind.RECIPIENT: audit.ActorKind.RECIPIENT,
    ActorKind.TRUSTED_CONTACT: audit.ActorKind.TRUSTED_CONTACT,
}


def audit_actor(actor: Actor) -> audit.AuditActor | None:
    """The audit log's actor for this history actor; None: the request's (``current_actor``)."""
    kind = _AUDIT_KINDS.get(actor.kind)
    if kind is None:
        return None
    context = audit.current_actor()
    ip, agent = (context.ip, context.user_agent) if context is not None else (None, "")
    return audit.AuditActor(kind, user_id=actor.user_id, label=actor.name[: audit.LABEL_MAX], ip=ip, user_agent=agent)


class LogFields(TypedDict):
    """The StatusLog fields a builder fills; the writer adds ``message`` and ``created_at``."""

    status: str
    response: str
    details: str
    data: dict


def _fields(status: str, data: dict, details: str, response: str = "") -> LogFields:
    return {"status": status, "response": response, "details": details, "data": data}


def _by_whom(actor: Actor) -> str:
    if actor.kind == ActorKind.CHECKIN_LINK:
        return " (by the check-in link in a warning e-mail)"
    if actor.kind == ActorKind.PING_URL:
        return " (by the personal check-in URL)"
    if actor.kind == ActorKind.LOG_IN:
        return " (by the owner's log-in)"
    if actor.kind == ActorKind.API_CALL:
        return " (by an API call with the owner's key)"
    if actor.kind == ActorKind.TRUSTED_CONTACT:
        return " (by a trusted contact)"
    return f" by staff ({actor.name})" if actor.kind == ActorKind.STAFF else ""


def warning_sent(*, level: int, next_step_at: datetime) -> LogFields:
    """The sweep sent warning ``level``; the ladder's next step is due at ``next_step_at``."""
    data = {"level": level, "next_step_at": next_step_at.isoformat(), "actor": SWEEP.as_data()}
    return _fields(StatusLog.warning_status(level), data, f"warning {level} sent; next step at {data['next_step_at']}")


def owner_unreachable(*, level: int, since: datetime, contacts: list[str], grace) -> LogFields:
    """Every contact refused warning ``level`` for good for the grace period: the step counts as sent."""
    days = grace.total_seconds() / 86400
    data = {
        "level": level,
        "since": since.isoformat(),
        "grace_days": int(days) if days == int(days) else days,
        "contacts": list(contacts),
        "actor": ESCALATION.as_data(),
    }
    english = (
        f"owner unreachable on every channel: each of {len(contacts)} contact(s) refused warning {level} "
        f"for good since {data['since']} ({data['grace_days']} days); the step counts as sent, staff alerted"
    )
    return _fields(StatusLog.Status.OWNER_UNREACHABLE, data, english)


def reset(*, from_level: int, actor: Actor, all_messages: bool = False) -> LogFields:
    """RESET from ``from_level``; ``all_messages`` when it came with "I'm still here" for every message."""
    data = {"from_level": from_level, "all_messages": all_messages, "actor": actor.as_data()}
    english = f"reset with all messages, from level {from_level}" if all_messages else f"reset from level {from_level}"
    return _fields(StatusLog.Status.WARNING_RESET, data, english + _by_whom(actor), response=StatusLog.Response.RESET)


def continued(*, level: int, actor: Actor) -> LogFields:
    """CONTINUE at ``level``: acknowledged, the ladder goes on."""
    data = {"level": level, "actor": actor.as_data()}
    return _fields(
        StatusLog.Status.CONTINUED,
        data,
        f"continue at level {level}{_by_whom(actor)}",
        response=StatusLog.Response.CONTINUE,
    )


def revoked(*, actor: Actor) -> LogFields:
    """REVOKED: nothing will ever be delivered."""
    english = {
        ActorKind.OWNER: "revoked by the owner",
        ActorKind.REVOCATION_KEY: "revoked with the revocation key",
        ActorKind.CHECKIN_LINK: "revoked by the check-in link in a warning e-mail",
    }.get(actor.kind, f"revoked{_by_whom(actor)}")
    return _fields(StatusLog.Status.REVOKED, {"actor": actor.as_data()}, english)


def delivered(*, recipients: int, actor: Actor) -> LogFields:
    """DELIVERED to ``recipients`` people (0: the message had none, so the ladder just ends)."""
    english = f"delivered to {recipients} recipient(s)" if recipients else "no recipients"
    return _fields(StatusLog.Status.DELIVERED, {"recipients": recipients, "actor": actor.as_data()}, english)


def paused(*, until: datetime, all_messages: bool, actor: Actor) -> LogFields:
    """A pause (messaging.pauses) holds this message until ``until``; ``all_messages``: it covers every one."""
    data = {"until": until.isoformat(), "all_messages": all_messages, "actor": actor.as_data()}
    scope = "with all messages " if all_messages else ""
    return _fields(StatusLog.Status.PAUSED, data, f"paused {scope}until {data['until']}{_by_whom(actor)}")


def pause_ended(*, all_messages: bool, actor: Actor) -> LogFields:
    """A pause was ended early: the ladder goes on, the full interval from now."""
    data = {"all_messages": all_messages, "actor": actor.as_data()}
    return _fields(StatusLog.Status.PAUSE_ENDED, data, f"pause ended early{_by_whom(actor)}")


def delivery_failed(
    *, recipient: Recipient, attempt: int, error: str, kind: str, maybe_sent: bool = False
) -> LogFields:
    """Attempt ``attempt`` to reach ``recipient`` failed; a PERMANENT ``kind`` is final (staff are alerted).

    ``maybe_sent``: the outcome is unknown (no answer in time after the request left), so the
    recipient may have it; the retry carries the same delivery id.
    """
    error = error[:ERROR_LIMIT]
    final = kind == FailureKind.PERMANENT
    data = {
        "recipient_id": recipient.pk,
        "recipient": recipient.name,
        "channel": recipient.contact_type,
        "attempt": attempt,
        "final": final,
        "error": error,
        "error_kind": str(kind),
        "maybe_sent": maybe_sent,
        "actor": DELIVERY.as_data(),
    }
    if final:
        outcome = " (refused for good; staff have been alerted)"
    elif maybe_sent:
        outcome = " (no answer in time: may have arrived; will retry with the same delivery id)"
    else:
        outcome = " (will retry)"
    english = f"recipient {recipient.name} ({recipient.contact_type}), attempt {attempt}{outcome}: {error}"
    return _fields(StatusLog.Status.DELIVERY_FAILED, data, english[:ERROR_LIMIT])


def link_opened(*, recipient: Recipient, link_id: int) -> LogFields:
    """The recipient's delivery page was opened for the first time (through link ``link_id``)."""
    data = {"recipient_id": recipient.pk, "recipient": recipient.name, "link_id": link_id}
    return _fields(StatusLog.Status.LINK_OPENED, data, f"recipient {recipient.name} opened the delivery page")


def link_sent(*, recipient: Recipient, link_id: int, reason: str, actor: Actor) -> LogFields:
    """A new link to the delivery page went to ``recipient`` (``reason``: renewed or re-sent)."""
    data = {
        "recipient_id": recipient.pk,
        "recipient": recipient.name,
        "channel": recipient.contact_type,
        "link_id": link_id,
        "reason": reason,
        "actor": actor.as_data(),
    }
    english = f"a new delivery link was sent to recipient {recipient.name} ({recipient.contact_type}, {reason}){_by_whom(actor)}"
    return _fields(StatusLog.Status.LINK_SENT, data, english)


def _trusted(request, contact) -> dict:
    return {"request_id": request.pk, "contact_id": contact.pk, "contact": contact.name}


def trusted_requested(*, request, contact, mode: str) -> LogFields:
    """A trusted contact asked for this message; it is granted at ``grant_at`` unless the owner refuses."""
    data = {
        **_trusted(request, contact),
        "grant_at": request.grant_at.isoformat(),
        "mode": mode,
        "actor": TRUSTED_CONTACT.as_data(),
    }
    english = f"trusted contact {contact.name} asked for access ({mode}); granted at {data['grant_at']} unless refused"
    return _fields(StatusLog.Status.TRUSTED_REQUESTED, data, english)


def trusted_refused(*, request, contact, actor: Actor) -> LogFields:
    data = {**_trusted(request, contact), "actor": actor.as_data()}
    return _fields(StatusLog.Status.TRUSTED_REFUSED, data, f"access request of {contact.name} refused{_by_whom(actor)}")


def trusted_granted(*, request, contact, mode: str, queued: bool) -> LogFields:
    data = {**_trusted(request, contact), "mode": mode, "started": queued, "actor": TRUSTED_GRANTS.as_data()}
    outcome = f"delivery started ({mode})" if queued else "the message was already being delivered"
    return _fields(StatusLog.Status.TRUSTED_GRANTED, data, f"access request of {contact.name} granted: {outcome}")
