"""What every send job of messaging shares: the outcome vocabulary and the time budget.

The jobs (``messaging.delivery``, ``messaging.notices`` warnings, ``messaging.alarms``) each
claim a batch, then send one row after another. A batch stops starting sends at its
deadline and gives the rest back, so django-q's timeout never kills it mid-send (a send
killed half-way may have reached the far end and would be sent again).
"""

from __future__ import annotations

import time
from enum import StrEnum

from django.conf import settings


class SendOutcome(StrEnum):
    """What a send job did with each claimed row (the counts it returns, keyed by these)."""

    SENT = "sent"
    SKIPPED = "skipped"  # no longer wanted (answered, reset, revoked) or no longer ours
    FAILED = "failed"  # this attempt failed; the row is retried at the back-off
    HELD = "held"  # not sent on purpose: the owner has no verified contact yet (messaging.owner_contacts)


def send_deadline(run_seconds: float | None = None) -> float:
    """The monotonic time after which a send job starts no more sends (``MESSAGING_SEND_RUN_SECONDS``)."""
    return time.monotonic() + (run_seconds if run_seconds is not None else settings.MESSAGING_SEND_RUN_SECONDS)
