"""Tell the owner something about their own account (a pause set or ended), on the account e-mail.

A minimal version: the full one sends to every verified contact of the owner. ``exclude``
(a contact not to use) is accepted for that version's signature and unused here. Returns how
many addresses it was sent to. A relay error is logged, never raised: the change it announces
is already saved.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

log = logging.getLogger(__name__)


def owner_notify(*, owner, subject: str, body: str, exclude=None) -> int:
    if not owner.email:
        return 0
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])
    except Exception:  # the relay's trouble must not undo what was saved
        log.exception("owner notice to user %s failed", owner.pk)
        return 0
    return 1
