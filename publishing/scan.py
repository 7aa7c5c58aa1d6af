"""Scanning a source: new items become pending tasks, in one transaction with the counters.

Reading the source (disk, feed, Drive) happens first, outside any transaction. Then, with
the source row locked so two scans of one source queue behind each other, the scan
finds which keys the project already has, inserts the rest with bulk inserts, and
updates ``total_items`` / ``used_items`` — all or nothing: a failure halfway leaves no
partial tasks and the counters as they were. A second scan finds every key and creates
nothing. A caption longer than X takes is flagged on the queue (``_length_flag``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from publishing.content import text_hash
from publishing.models import ContentSource, PublishingTask
from publishing.scheduling import slots_next_free
from publishing.sources import SourceError, fetch_items
from publishing.x_text import too_long_reason

INSERT_BATCH_SIZE = 500
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class ScanResult:
    created: int
    total: int
    error: str = ""


def _existing_keys(project_id: int, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        found.update(
            PublishingTask.objects.filter(project_id=project_id, media_path__in=chunk).values_list(
                "media_path", flat=True
            )
        )
    return found


def _length_flag(text: str) -> dict:
    """A caption X would refuse is queued failed and flagged ``too_long`` for its owner to
    edit, not posted (X would refuse it) and not cut (it would lose its end)."""
    reason = too_long_reason(text)
    if not reason:
        return {}
    return {"status": PublishingTask.Status.FAILED, "too_long": True, "last_error": reason}


def source_scan(*, source: ContentSource, batch_size: int = INSERT_BATCH_SIZE) -> ScanResult:
    """Turn the source's new items into tasks; return how many were created."""
    try:
        items = fetch_items(source)
    except SourceError as exc:
        ContentSource.objects.filter(pk=source.pk).update(last_error=str(exc)[:2000], last_scanned=timezone.now())
        source.last_error = str(exc)
        return ScanResult(created=0, total=source.total_items, error=str(exc))

    # One task per key even if the source lists an item twice (feeds repeat guids).
    unique = list({item.key: item for item in items}.values())
    project = source.project
    with transaction.atomic():
        ContentSource.objects.select_for_update().filter(pk=source.pk).values_list("pk", flat=True).get()
        existing = _existing_keys(project.pk, [item.key for item in unique])
        new_items = [item for item in unique if item.key not in existing]
        slots = slots_next_free(project=project, count=len(new_items))
        now = timezone.now()
        tasks = [
            PublishingTask(
                project=project,
                source=source,
                media_path=item.key,
                content_data=item.content_data(),
                content_hash=text_hash(item.text),
                media_hash=item.media_hash,
                scheduled_at=slot,
                created_at=now,
                **_length_flag(item.text),
            )
            for item, slot in zip(new_items, slots, strict=False)
        ]
        PublishingTask.objects.bulk_create(tasks, batch_size=batch_size)
        ContentSource.objects.filter(pk=source.pk).update(
            total_items=len(unique),
            used_items=F("used_items") + len(tasks),
            last_scanned=now,
            last_error="",
        )
    source.refresh_from_db(fields=["total_items", "used_items", "last_scanned", "last_error"])
    return ScanResult(created=len(tasks), total=len(unique))
