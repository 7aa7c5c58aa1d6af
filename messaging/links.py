"""Signed, expiring check-in links for warning e-mails.

The token names the message and its owner and is signed with Django's TimestampSigner,
so it cannot be forged or moved to another message, and it expires after
``MESSAGING_CHECKIN_MAX_AGE_DAYS``. Opening the link only shows the page; the answer is a
POST by the logged-in owner, so mail scanners that follow links change nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from messaging.models import Message

SALT = "messaging.checkin"


class LinkError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


def checkin_token(message: Message) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"m": message.pk, "u": message.owner_id})


def checkin_url(message: Message) -> str:
    return settings.SITE_URL + reverse("messaging:checkin", args=[checkin_token(message)])


def checkin_read(token: str) -> tuple[int, int]:
    """(message id, owner id) from a token, or ``LinkError``."""
    max_age = timedelta(days=settings.MESSAGING_CHECKIN_MAX_AGE_DAYS)
    try:
        data = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkError("expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkError("invalid") from None
    try:
        return int(data["m"]), int(data["u"])
    except (KeyError, TypeError, ValueError):
        raise LinkError("invalid") from None
