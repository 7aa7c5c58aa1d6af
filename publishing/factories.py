"""Publishing tasks in bulk for tests and benchmarks (``bench/``), written the way a scan writes them.

Not used by the site: pages and the API create tasks one at a time through
``publishing.services.task_create``. This builds many at once with ``bulk_create`` so a
test or a benchmark can fill a queue of thousands in one statement per chunk. Each task is
a text post (``{label} post {i}``, its hash set like task_create sets it) keyed
``{label}:{i}``; a fresh label per call keeps ``(project, media_path)`` unique. With
``thread_every=n``, every n-th task is a thread of ``1 + thread_replies`` posts (its replies
``{label} post {i} reply {k}``), as the composer writes one. With ``account``, they are that
network account's copies (Mastodon, Bluesky); without, the project's X posts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

from publishing.content import text_hash
from publishing.models import NetworkAccount, Project, PublishingTask, ThreadReply


def tasks_build(
    *,
    project: Project,
    count: int,
    scheduled_at: datetime,
    label: str | None = None,
    priority_levels: int = 1,
    thread_every: int = 0,
    thread_replies: int = 2,
    account: NetworkAccount | None = None,
) -> Iterator[PublishingTask]:
    """Unsaved tasks ``0 .. count-1``; priorities cycle through ``0 .. priority_levels-1``."""
    label = label or uuid.uuid4().hex[:12]
    for index in range(count):
        text = f"{label} post {index}"
        yield PublishingTask(
            project=project,
            account=account,
            media_path=f"{label}:{index}",
            content_data={"text": text, "alt_text": "", "media": None},
            content_hash=text_hash(text),
            scheduled_at=scheduled_at,
            priority=index % priority_levels,
            reply_count=thread_replies if thread_every and index % thread_every == 0 else 0,
        )


def tasks_bulk_create(
    *,
    project: Project,
    count: int,
    scheduled_at: datetime,
    label: str | None = None,
    priority_levels: int = 1,
    batch_size: int = 5000,
    thread_every: int = 0,
    thread_replies: int = 2,
    account: NetworkAccount | None = None,
) -> list[PublishingTask]:
    """Save ``count`` tasks in chunks of ``batch_size``; SQLite and MariaDB 10.5+ return them with keys."""
    tasks = tasks_build(
        project=project,
        count=count,
        scheduled_at=scheduled_at,
        label=label,
        priority_levels=priority_levels,
        thread_every=thread_every,
        thread_replies=thread_replies,
        account=account,
    )
    created = PublishingTask.objects.bulk_create(tasks, batch_size=batch_size)
    replies = [
        ThreadReply(task=task, position=k, content_data={"text": f"{task.text} reply {k}", "media_items": []})
        for task in created
        for k in range(1, task.reply_count + 1)
    ]
    ThreadReply.objects.bulk_create(replies, batch_size=batch_size)
    return created
