"""What the preview draws: each post of a thread as X shows it (text with its links, the
media grid with alt-text badges, the weighted count), from the composer's posts or a task.

Media is shown from the owner's own folder through ``views_composer.media_file`` (which
opens it the checked way, ``folders.open_file``), so the preview never links a server path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from django.urls import reverse

from publishing import networks, x_text
from publishing.composer import PostIn, posts_of
from publishing.content import X_TEXT_LIMIT
from publishing.models import Network, PublishingTask, ThreadReply

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v"}


@dataclass(frozen=True)
class MediaShown:
    url: str
    alt_text: str
    kind: str  # image, gif, video


@dataclass(frozen=True)
class PostShown:
    position: int
    segments: list[tuple[str, str, str]]
    media: list[MediaShown]
    weighted_length: int
    fits: bool
    reason: str
    posted_id: str = ""
    limit: int = X_TEXT_LIMIT


def _kind(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    return "gif" if suffix == ".gif" else "video" if suffix in VIDEO_SUFFIXES else "image"


def _media_url(path: str) -> str:
    return reverse("publishing:media_file", kwargs={"path": path})


def posts_shown(
    posts: list[PostIn], posted_ids: list[str] | None = None, *, network: str = Network.X, limits: dict | None = None
) -> list[PostShown]:
    """``posts`` as the preview draws them, counted as ``network`` counts (with an instance's
    ``limits``: Mastodon's); media paths are as the owner sees them."""
    shown = []
    for n, post in enumerate(posts):
        counted = networks.measure(network, post.text, limits=limits)
        media = [
            MediaShown(_media_url(m["path"]), m.get("alt_text", ""), _kind(m["path"]))
            for m in post.media
            if m.get("path")
        ]
        shown.append(
            PostShown(
                position=n,
                segments=x_text.segments(post.text),
                media=media,
                weighted_length=counted.length,
                fits=counted.fits,
                reason=networks.too_long_reason(network, post.text, limits=limits),
                limit=counted.limit,
                posted_id=(posted_ids or [])[n] if posted_ids and n < len(posted_ids) else "",
            )
        )
    return shown


def task_shown(task: PublishingTask, replies: list[ThreadReply] | None = None) -> list[PostShown]:
    """A queued task's posts; ``replies`` prefetched by the caller (the queue page) saves a query."""
    if replies is None:
        replies = list(task.replies.order_by("position")) if task.reply_count else []
    account = task.account if task.account_id else None
    return posts_shown(
        posts_of(task, replies),
        [task.posted_id] + [r.posted_id for r in replies],
        network=account.network if account else Network.X,
        limits=account.limits if account else None,
    )
