"""The duplicate check before posting: the same normalised text, or the same media file,
already published by the project within its ``duplicate_window_days`` is skipped.

A network account's copies (``account``) are compared with that account's own posts only:
the same post on X and on Mastodon is the point of posting to several networks.

One query per batch: every published task of the batch's projects since the widest window
whose text or media fingerprint matches one in the batch. Tasks earlier in the same batch
count as published, so a batch never posts the same text twice.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from publishing.models import Project, PublishingTask


def duplicate_reasons(tasks: list[PublishingTask], projects: dict[int, Project]) -> dict[int, str]:
    """``{task id: reason}`` for the tasks that must be skipped."""
    text_hashes = {task.content_hash for task in tasks if task.content_hash}
    media_hashes = {task.media_hash for task in tasks if task.media_hash}
    if not tasks or not (text_hashes or media_hashes):
        return {}
    now = timezone.now()
    widest = max(projects[task.project_id].duplicate_window_days for task in tasks)
    match = Q()
    if text_hashes:
        match |= Q(content_hash__in=text_hashes)
    if media_hashes:
        match |= Q(media_hash__in=media_hashes)
    seen: dict[tuple[int, int | None, str, str], tuple] = {}
    rows = (
        PublishingTask.objects.filter(
            project_id__in={task.project_id for task in tasks},
            status=PublishingTask.Status.SUCCESS,
            published_at__gte=now - timedelta(days=widest),
        )
        .filter(match)
        .exclude(pk__in=[task.pk for task in tasks])
        .values_list("pk", "project_id", "account_id", "content_hash", "media_hash", "published_at")
    )
    for pk, project_id, account_id, content_hash, media_hash, published_at in rows:
        if content_hash:
            seen[(project_id, account_id, "text", content_hash)] = (pk, published_at)
        if media_hash:
            seen[(project_id, account_id, "media", media_hash)] = (pk, published_at)
    reasons: dict[int, str] = {}
    for task in tasks:
        window = projects[task.project_id].duplicate_window_days
        cutoff = now - timedelta(days=window)
        for kind, value in (("text", task.content_hash), ("media", task.media_hash)):
            hit = seen.get((task.project_id, task.account_id, kind, value)) if value else None
            if hit and hit[1] >= cutoff:
                what = "text" if kind == "text" else "media file"
                reasons[task.pk] = f"Duplicate: the same {what} was published by task #{hit[0]} within {window} days"
                break
        if task.pk not in reasons:
            for kind, value in (("text", task.content_hash), ("media", task.media_hash)):
                if value:
                    seen[(task.project_id, task.account_id, kind, value)] = (task.pk, now)
    return reasons
