"""The audit log's vocabulary (``ops.AuditEvent``) and who is acting right now.

It lives here, in the site package every app imports, because the writers span every app:
``accounts`` (which may import no other app) names its events with these constants and
hands them to ``ops`` through ``accounts.signals.audit_event``; messaging, publishing and
ops call ``ops.audit.audit_record`` directly. One spelling of each event type, everywhere.

``event_type`` is ``<object>.<action>``; a type's label is what the Activity page and the
admin show, and the facts of one event live in ``extra_data`` (see ``ops.audit_text`` for how
each type is rendered; no page ever parses English back).

Who is acting (``AuditActor``) comes from the explicit ``actor`` a service passes, else from
``current_actor()``: a context variable the request middleware sets for a signed-in visitor
(``cradle_site.middleware.AuditContextMiddleware``), the API key authentication replaces
for an API call (``accounts.api_auth``) and ``acting_as_job`` sets around a job. Services
therefore need no request argument to say who did it and from where.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from django.db import models
from django.utils.translation import gettext_lazy as _

USER_AGENT_MAX = 300
LABEL_MAX = 150

# Keys that never go into ``extra_data`` whatever a caller passes (a last line of defence;
# the callers pass field NAMES and counts, never values of secret fields).
SECRET_WORDS = ("password", "secret", "token", "key_hash", "code", "content", "contact", "credential")


class EventType(models.TextChoices):
    # Accounts (the security events of earlier work keep their values).
    LOGIN = "auth.login", _("Logged in")
    LOGIN_LOCKED = "auth.login_locked", _("Log-ins paused after repeated wrong passwords")
    PASSWORD_CHANGED = "auth.password_changed", _("Password changed")
    SESSIONS_ENDED = "auth.sessions_ended", _("Other sessions logged out")
    ACCOUNT_CREATED = "account.created", _("Account created")
    PROFILE_CHANGED = "account.profile_changed", _("Profile changed (time zone or language)")
    EMAIL_VERIFIED = "email.verified", _("E-mail address verified")
    EMAIL_CHANGE_REQUESTED = "email.change_requested", _("E-mail change requested")
    EMAIL_CHANGED = "email.changed", _("E-mail address changed")
    MFA_ENABLED = "mfa.enabled", _("Two-factor authentication turned on")
    MFA_DISABLED = "mfa.disabled", _("Two-factor authentication turned off")
    MFA_DEVICE_ADDED = "mfa.device_added", _("Second factor added")
    MFA_DEVICE_REMOVED = "mfa.device_removed", _("Second factor removed")
    MFA_RECOVERY_CODES = "mfa.recovery_codes_generated", _("New recovery codes made")
    MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used", _("Recovery code used")
    API_KEY_CREATED = "api_key.created", _("API key created")
    API_KEY_REVOKED = "api_key.revoked", _("API key revoked")
    PING_TOKEN_CREATED = "ping_token.created", _("Personal check-in URL created")
    PING_TOKEN_ROTATED = "ping_token.rotated", _("Personal check-in URL replaced")
    PING_TOKEN_DELETED = "ping_token.deleted", _("Personal check-in URL deleted")
    STAFF_CHANGED_EMAIL = "staff.user_email_changed", _("Staff changed your e-mail address")
    STAFF_CHANGED_PASSWORD = "staff.user_password_changed", _("Staff changed your password")
    STAFF_CHANGED_DATA = "staff.user_data_changed", _("Staff changed your data")
    # Messages.
    MESSAGE_CREATED = "message.created", _("Message created")
    MESSAGE_CHANGED = "message.changed", _("Message changed")
    MESSAGE_RESET = "message.reset", _("Message reset (you checked in)")
    MESSAGE_ANSWERED = "message.answered", _("Warning acknowledged")
    MESSAGE_REVOKED = "message.revoked", _("Message revoked")
    MESSAGE_DELETED = "message.deleted", _("Message deleted")
    MESSAGE_DELIVERED = "message.delivered", _("Message delivered")
    DELIVERY_RETRIED = "delivery.retried", _("Delivery queued again")
    MESSAGE_PAUSED = "message.paused", _("Warnings paused")
    PAUSE_ENDED = "message.pause_ended", _("Pause ended")
    OWNER_CONTACT_ADDED = "owner_contact.added", _("Contact for your warnings added")
    OWNER_CONTACT_CODE_SENT = "owner_contact.code_sent", _("New verification code or link for a contact")
    OWNER_CONTACT_VERIFIED = "owner_contact.verified", _("Contact for your warnings verified")
    OWNER_CONTACT_CHANGED = "owner_contact.changed", _("Contact for your warnings changed")
    OWNER_CONTACT_REMOVED = "owner_contact.removed", _("Contact for your warnings removed")
    TEST_WARNING_SENT = "owner_contact.test_warning", _("Test warning sent")
    ATTACHMENT_ADDED = "attachment.added", _("File attached to a message")
    ATTACHMENT_REMOVED = "attachment.removed", _("File removed from a message")
    DELIVERY_LINK_OPENED = "delivery_link.opened", _("A recipient opened their delivery page")
    DELIVERY_LINK_SENT = "delivery_link.sent", _("New link to a recipient's delivery page sent")
    TRUSTED_CONTACT_ADDED = "trusted_contact.added", _("Trusted contact added")
    TRUSTED_CONTACT_VERIFIED = "trusted_contact.verified", _("Trusted contact confirmed their address")
    TRUSTED_CONTACT_REMOVED = "trusted_contact.removed", _("Trusted contact removed")
    TRUSTED_ACCESS_CHANGED = "trusted_access.changed", _("Trusted access of a message changed")
    ACCESS_REQUESTED = "access_request.made", _("A trusted contact asked for access")
    ACCESS_REFUSED = "access_request.refused", _("Access request refused")
    ACCESS_GRANTED = "access_request.granted", _("Access request granted")
    NAMED_NOTICE_RESENT = "named_notice.resent", _("A recipient asked again to confirm their address")
    NAMED_NOTICE_CONFIRMED = "named_notice.confirmed", _("A recipient confirmed their address")
    # Publishing.
    PROJECT_CREATED = "project.created", _("Project created")
    PROJECT_CHANGED = "project.changed", _("Project changed")
    PROJECT_DELETED = "project.deleted", _("Project deleted")
    SOURCE_CREATED = "source.created", _("Content source created")
    SOURCE_CHANGED = "source.changed", _("Content source changed")
    SOURCE_DELETED = "source.deleted", _("Content source deleted")
    SOURCE_SCAN_REQUESTED = "source.scan_requested", _("Scan of a content source requested")
    TASK_CREATED = "task.created", _("Post queued")
    TASK_CHANGED = "task.changed", _("Post changed")
    TASK_DELETED = "task.deleted", _("Post deleted")
    TASK_RETRIED = "task.retried", _("Post queued to try again")
    MEDIA_UPLOADED = "media.uploaded", _("Media file uploaded")
    NETWORK_ACCOUNT_CONNECTED = "network_account.connected", _("Mastodon or Bluesky account connected")
    NETWORK_ACCOUNT_DISCONNECTED = "network_account.disconnected", _("Mastodon or Bluesky account disconnected")
    # Operations.
    BACKUP_MADE = "backup.made", _("Backup made")
    BACKUP_RESTORED = "backup.restored", _("Backup restored")
    AUDIT_PURGED = "audit.purged", _("Old audit events purged")
    SETTINGS_CHANGED = "staff.settings_changed", _("Settings changed by staff")


class ActorKind(models.TextChoices):
    USER = "user", _("you")
    STAFF = "staff", _("staff")
    API_KEY = "api_key", _("API key")
    JOB = "job", _("a Cradle job")
    CHECKIN_LINK = "checkin_link", _("a check-in link")
    PING_URL = "ping_url", _("your personal check-in URL")
    TRUSTED_CONTACT = "trusted_contact", _("a trusted contact")
    PUBLIC = "public", _("the public revocation page")
    RECIPIENT = "recipient", _("a recipient, through their delivery page")
    ANONYMOUS = "anonymous", _("someone not logged in")
    SYSTEM = "system", _("Cradle")


@dataclass(frozen=True)
class AuditActor:
    """Who acted: a kind, the acting person when one is known, a label kept as text
    (a staff member's username, an API key's ``crd_<prefix>``, a job's name), and where
    the request came from."""

    kind: str
    user_id: int | None = None
    label: str = ""
    ip: str | None = None
    user_agent: str = ""

    def with_kind(self, kind: str, label: str = "") -> AuditActor:
        """The same request (address, browser) acting as someone else: e.g. a revocation key."""
        return replace(self, kind=kind, label=label or self.label)


SYSTEM = AuditActor(ActorKind.SYSTEM)

# An actor, or a function giving one: the middleware sets ``lambda: actor_from_request(request)``
# so a request that records nothing never loads its user for the log's sake.
_current: contextvars.ContextVar[AuditActor | Callable[[], AuditActor] | None] = contextvars.ContextVar(
    "cradle_audit_actor", default=None
)


def current_actor() -> AuditActor | None:
    value = _current.get()
    return value() if callable(value) else value


@contextlib.contextmanager
def acting_as(actor: AuditActor | Callable[[], AuditActor] | None) -> Iterator[AuditActor | None]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def acting_as_job(name: str):
    """Around a job's work: its events say ``job`` and its name."""
    return acting_as(AuditActor(ActorKind.JOB, label=name[:LABEL_MAX]))


# The objects this request has already recorded an event for: the admin's change-log hook
# (accounts.security_events) skips a row a service already recorded, so one edit in the
# admin that calls a service is one event, not two.
_recorded: contextvars.ContextVar[set | None] = contextvars.ContextVar("cradle_audit_recorded", default=None)


@contextlib.contextmanager
def request_scope(actor: AuditActor | Callable[[], AuditActor] | None) -> Iterator[None]:
    """One request: its actor, and a fresh record of the objects it has written events for."""
    token = _recorded.set(set())
    try:
        with acting_as(actor):
            yield
    finally:
        _recorded.reset(token)


def note_recorded(object_type: str, object_id: str) -> None:
    seen = _recorded.get()
    if seen is not None and object_type:
        seen.add((object_type, object_id))


def already_recorded(object_type: str, object_id: str) -> bool:
    seen = _recorded.get()
    return seen is not None and (object_type, object_id) in seen


def set_actor(actor: AuditActor | None) -> None:
    """Replace the actor for the rest of this request (the API key authentication)."""
    _current.set(actor)


def request_address(request) -> tuple[str | None, str]:
    """The client's address (``cradle_site.ratelimit.client_ip``, validated) and browser."""
    from cradle_site import ratelimit

    try:
        ip = str(ipaddress.ip_address(ratelimit.client_ip(request)))
    except ValueError:
        ip = None
    return ip, request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]


def actor_from_request(request, user=None) -> AuditActor:
    """The actor of a page request: the signed-in person (``staff`` flag decided by the
    recorder against the event's subject), else someone not logged in."""
    ip, agent = request_address(request)
    user = user if user is not None else getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return AuditActor(
            ActorKind.USER, user_id=user.pk, label=user.get_username()[:LABEL_MAX], ip=ip, user_agent=agent
        )
    return AuditActor(ActorKind.ANONYMOUS, ip=ip, user_agent=agent)
