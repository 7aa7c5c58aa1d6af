"""What a failed publishing attempt leads to, by failure kind: the one table outcomes and the runner read.

``ON_FAILURE`` maps every ``PublishingLog.ErrorKind`` to how its task is handled (a test
fails when a kind is added without a row here), and ``Outcome`` names what
``outcomes.apply_failure`` reports back to the runner.
"""

from __future__ import annotations

from enum import StrEnum

from publishing.models import PublishingLog

ErrorKind = PublishingLog.ErrorKind


class OnFailure(StrEnum):
    # 429: back to pending at X's reset time; not a failed attempt.
    WAIT_FOR_RESET = "wait_for_reset"
    # 401: the project is flagged needs_credentials (its queue pauses); the task waits, uncounted.
    WAIT_FOR_CREDENTIALS = "wait_for_credentials"
    # 5xx and transport errors: retried after a back-off, then failed.
    RETRY = "retry"
    # Retrying would not help.
    FAIL = "fail"

    @property
    def holds_account(self) -> bool:
        """The whole account is limited or locked out, so the rest of its batch waits too."""
        return self in (OnFailure.WAIT_FOR_RESET, OnFailure.WAIT_FOR_CREDENTIALS)


ON_FAILURE: dict[ErrorKind, OnFailure] = {
    ErrorKind.RATE_LIMIT: OnFailure.WAIT_FOR_RESET,
    ErrorKind.AUTH: OnFailure.WAIT_FOR_CREDENTIALS,
    ErrorKind.SERVER: OnFailure.RETRY,
    ErrorKind.NETWORK: OnFailure.RETRY,
    # Unless an earlier attempt may have posted (outcomes treats that as published).
    ErrorKind.DUPLICATE: OnFailure.FAIL,
    ErrorKind.MEDIA: OnFailure.FAIL,
    ErrorKind.OTHER: OnFailure.FAIL,
    ErrorKind.NONE: OnFailure.FAIL,
}


class Outcome(StrEnum):
    PUBLISHED = "published"
    RETRY = "retry"
    WAITING = "waiting"
    FAILED = "failed"
