"""Evergreen posts: published posts the owner marks evergreen go out again, every
``Project.evergreen_after_days`` days, as a new copy at the project's next free slot.

The copy is a new task (``composer.post_duplicate``: the post and its replies), so it has
its own attempts, log and statistics, and ``evergreen_of`` names the original. A post gets
a new copy when its last outing (its own publication, or its newest copy's) is at least
the chosen number of days old and no copy of it is still waiting; the sweep (hourly) takes
that decision under a row lock on the original, so two sweeps never queue two copies.

The duplicate window: Cradle skips a post whose text went out within the project's
``duplicate_window_days`` (``publishing.duplicates``), and X refuses a repeat as well; so
the interval may not be shorter than the window (``services.check_evergreen_interval``), or every copy would be
skipped. The owner chooses both; neither is bent for the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cradle_site.audit_vocabulary import EventType
from cradle_site.errors import StateError
from ops.audit import audit_record
from publishing.composer import post_duplicate
from publishing.models import Project, PublishingTask

Status = PublishingTask.Status
WAITING = (Status.PENDING, Status.LOCKED, Status.HELD)
SWEEP_LIMIT = 500  # copies per project per sweep: a backlog drains over a few hours


def evergreen_mark(*, task: PublishingTask, evergreen: bool) -> PublishingTask:
    """Mark a published post evergreen (or not)."""
    if evergreen and task.status != Status.SUCCESS:
        raise StateError(_("Only a published post can be evergreen."))
    with transaction.atomic():
        PublishingTask.objects.filter(pk=task.pk).update(evergreen=evergreen)
        audit_record(
            EventType.TASK_CHANGED,
            user=task.project.owner_id,
            obj=task,
            changed=["evergreen"],
            data={"project_id": task.project_id},
        )
    task.evergreen = evergreen
    return task


def _last_outing(original: PublishingTask) -> datetime | None:
    copies = original.evergreen_copies.filter(status=Status.SUCCESS).aggregate(last=Max("published_at"))["last"]
    return max(filter(None, [original.published_at, copies]), default=None)


def evergreen_due(*, now: datetime | None = None) -> int:
    """Queue a copy of every evergreen post that is due (the hourly sweep); how many."""
    now = now or timezone.now()
    queued = 0
    projects = Project.objects.filter(
        evergreen_after_days__isnull=False, paused=False, archived_at__isnull=True, deleting_since__isnull=True
    )
    for project in projects:
        cutoff = now - timedelta(days=project.evergreen_after_days)
        candidates = (
            PublishingTask.objects.filter(
                project=project, evergreen=True, status=Status.SUCCESS, published_at__lte=cutoff
            )
            .exclude(Q(evergreen_copies__status__in=WAITING) | Q(evergreen_copies__published_at__gt=cutoff))
            .order_by("published_at")
            .values_list("pk", flat=True)[:SWEEP_LIMIT]
        )
        for pk in list(candidates):
            with transaction.atomic():
                original = PublishingTask.objects.select_for_update().select_related("project").get(pk=pk)
                # Looked at again under the lock: another sweep may have queued it meanwhile.
                if original.evergreen_copies.filter(status__in=WAITING).exists():
                    continue
                last = _last_outing(original)
                if last is None or last > cutoff:
                    continue
                copy = post_duplicate(task=original)
                PublishingTask.objects.filter(pk=copy.pk).update(evergreen_of=original)
                queued += 1
    return queued
