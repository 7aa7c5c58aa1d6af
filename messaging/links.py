"""Single-use, signed check-in links for warning e-mails: the owner answers without logging in.

The token is signed with Django's TimestampSigner and names the message, the warning level
it was sent for and the cycle (``cycle_started_at``, in microseconds). So it cannot be forged
or moved to another message, and it is good for one step only:

- the next warning raises the level, and a RESET starts a new cycle: the token stops matching
  the row, by itself;
- a CONTINUE moves neither, so every answer through the link records the step as used
  (``CheckinLinkUse``, unique per message, level and cycle) in the answer's own transaction;
- ``MESSAGING_CHECKIN_MAX_AGE_DAYS`` is the backstop for a step that lasts very long.

The check runs under the message's row lock, inside the service's transaction
(``link_guard`` is the services' ``guard``): two answers through one link, or an answer racing
the sweep's next warning, cannot both pass, and an answer rolled back (``Busy``) spends nothing.

What the token allows is the three answers for its message (reset, continue, revoke), each a
POST; opening the link (GET) changes nothing, so mail scanners that follow links do no harm.
The page it opens shows neither the message's content nor its recipients (nor its title:
it is encrypted at rest like the content), only when it was created and where its ladder is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from cradle_site.errors import StateError
from messaging.models import CheckinLinkUse, Message

SALT = "messaging.checkin.v2"  # v2: bound to level and cycle
# The links mailed before v2 named the message and owner only: still read, so the logged-in owner
# keeps their page, but they answer nothing without a log-in (their level never matches).
SALT_V1 = "messaging.checkin"
_NO_LEVEL = -1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class LinkError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


class StaleLink(StateError):
    """The link's step is over: answered through it already, or the ladder has moved on."""

    def __init__(self, reason: str) -> None:
        super().__init__(_stale_text(reason))
        self.reason = reason  # "used", "stale" (a newer warning or a reset) or "over" (not on the ladder)


def _stale_text(reason: str) -> str:
    return {
        "used": _("This check-in link has already been used. Each link answers one warning once."),
        "stale": _("This check-in link is out of date: a newer warning was sent, or the message was reset."),
    }.get(reason, _("This message is no longer on its warning schedule."))


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token names: one warning step of one message."""

    message_id: int
    level: int
    cycle: int  # cycle_started_at in microseconds since the epoch


def _cycle_of(message: Message) -> int:
    return (message.cycle_started_at - _EPOCH) // _MICROSECOND


def checkin_token(message: Message) -> str:
    payload = {"m": message.pk, "l": message.warning_level, "c": _cycle_of(message)}
    return signing.TimestampSigner(salt=SALT).sign_object(payload)


def checkin_url(message: Message) -> str:
    return settings.SITE_URL + reverse("messaging:checkin", args=[checkin_token(message)])


def checkin_read(token: str) -> LinkClaim:
    """The step a token names, or ``LinkError`` (a bad signature, a wrong shape, too old)."""
    max_age = timedelta(days=settings.MESSAGING_CHECKIN_MAX_AGE_DAYS)
    try:
        data = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkError("expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        data = _read_v1(token, max_age)
    try:
        return LinkClaim(message_id=int(data["m"]), level=int(data["l"]), cycle=int(data["c"]))
    except (KeyError, TypeError, ValueError):
        raise LinkError("invalid") from None


def _read_v1(token: str, max_age: timedelta) -> dict:
    try:
        data = signing.TimestampSigner(salt=SALT_V1).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkError("expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkError("invalid") from None
    if not isinstance(data, dict) or "m" not in data:
        raise LinkError("invalid")
    return {"m": data["m"], "l": _NO_LEVEL, "c": 0}


def link_problem(claim: LinkClaim, message: Message) -> str | None:
    """Why the link no longer answers ``message`` ("over", "stale", "used"), or None while it does.

    A read for the page; the answer checks again under the row lock (``link_guard``).
    """
    if message.pk != claim.message_id or message.state != Message.State.ACTIVE:
        return "over"
    if message.warning_level != claim.level or _cycle_of(message) != claim.cycle:
        return "stale"
    if CheckinLinkUse.objects.filter(
        message=message, level=claim.level, cycle_started_at=message.cycle_started_at
    ).exists():
        return "used"
    return None


def link_guard(claim: LinkClaim) -> Callable[[Message], None]:
    """The services' ``guard`` for an answer through this link: refuse a spent step, spend it."""

    def guard(locked: Message) -> None:
        problem = link_problem(claim, locked)
        if problem is not None:
            raise StaleLink(problem)
        try:
            with transaction.atomic():  # a savepoint: a racing use must not break the answer's transaction
                CheckinLinkUse.objects.create(
                    message=locked, level=locked.warning_level, cycle_started_at=locked.cycle_started_at
                )
        except IntegrityError:
            raise StaleLink("used") from None

    return guard
