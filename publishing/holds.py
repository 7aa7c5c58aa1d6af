"""When a post that may already be on X is held for its owner instead of posted again.

A task is ``maybe_posted`` when an earlier attempt may have reached X without our record of
it: its worker died (the lease ran out and the claim took it back) or the post request
timed out after it left. Posting it again is safe only where X itself refuses the copy:
X answers 403 "duplicate content" to the same text from the same account, and
``outcomes.apply_failure`` then records the task as published. A post **without text**
(media only) gives X nothing to compare: every upload gets a fresh media id, and X posts
the same picture twice without a word. So a ``maybe_posted`` task X cannot refuse a copy of
is not posted blindly; it goes to ``held`` (a status, so no claim takes it and nothing
counts it as waiting to be posted) with the reason as ``last_error`` and a skipped log row
saying why. Its owner, who can look at the account, decides: ``services.task_post_anyway``
(it is not there) or ``services.task_mark_posted`` (it is), or cancels it.

Why hold rather than look on X first (``get_me`` + ``get_users_tweets`` and compare): a
timeline entry names its media by X's media key, which only the attempt that uploaded it
knew, and that attempt is the one that died before writing anything down; a fresh upload
gets a new id, and a media-only post carries no text or marker of ours. So "is it there?"
could only be guessed (by time, by position), and a wrong guess posts it twice. The
timeline read is also rate limited far tighter than posting. Holding costs the owner one
click in the rare case of a dead worker or a timed-out post, and never doubles a post. The
price: a media-only task a dead worker had claimed but not yet started is held too, since
nothing records how far that worker got.
"""

from __future__ import annotations

from publishing.models import PublishingTask

HELD_REASON = (
    "May already be on X: an earlier attempt may have posted it, and X cannot refuse a copy of a post "
    "without text. Check the account, then choose Post it anyway or Mark as posted."
)


def x_refuses_copy(task: PublishingTask) -> bool:
    """X refuses a second post of the same text from the same account (403 duplicate)."""
    return bool(task.text.strip())


def needs_hold(task: PublishingTask) -> bool:
    """Hold ``task`` for its owner (``outcomes.apply_hold``) instead of posting it now.

    Only X posts: a Mastodon copy is retried with the same ``Idempotency-Key`` (the instance
    answers the status it already made, for an hour), and a Bluesky copy is written under a
    record key fixed by the task, looked up before it is written again
    (``publishing.network_publishers``)."""
    return task.maybe_posted and not task.account_id and not x_refuses_copy(task)


def thread_gap_reason(position: int) -> str:
    """Why a thread stopped at ``position`` (``publishers.ThreadGap``): its replies need that post's id."""
    which = "The first post" if position == 0 else f"Reply {position}"
    return (
        f"{which} of this thread is on X (X refused it as a copy after a timed-out attempt), but its id "
        "could not be found on the account's timeline, so the posts after it cannot answer it. Check the "
        "account: Mark as posted ends the thread there; cancel it and post the rest as a new thread otherwise."
    )
