"""Archiving a project, and deleting one with everything it holds.

Archived: the project leaves the project list (a tab shows it), its queue is paused and its
sources are not scanned; nothing is lost, and unarchiving brings it back paused, for the
owner to resume when ready.

Deleting removes the project, its sources, tasks, thread replies, publishing logs, task
counts and statistics. The page says how much of each first (``project_contents``). A big
project holds a million log rows, too many for one request or one transaction, so
``project_delete_request`` archives the project and marks it ``deleting_since`` at once
(nothing publishes or scans from then on), and a job deletes it in batches, each its own
short transaction, children first. A job lost with its worker is started again by the
minutely sweep (``projects_delete_due``), and picks up where the last one stopped: the
batches are idempotent.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cradle_site.audit_vocabulary import EventType
from ops.audit import audit_record
from publishing import task_counts
from publishing.models import ContentSource, Project, PublishingLog, PublishingTask

BATCH = 5000
# A deletion whose job has not finished after this long is started again.
STALE = timedelta(minutes=10)


def project_archive(*, project: Project, archived: bool) -> Project:
    if project.deleting_since:
        raise ValidationError({"archived": _("This project is being deleted.")})
    changes = {"archived_at": timezone.now() if archived else None}
    if archived:
        changes["paused"] = True
    with transaction.atomic():
        Project.objects.filter(pk=project.pk).update(**changes)
        audit_record(
            EventType.PROJECT_CHANGED, user=project.owner_id, obj=project, label=project.name, changed=list(changes)
        )
    for name, value in changes.items():
        setattr(project, name, value)
    return project


def project_contents(project: Project) -> dict[str, int]:
    """What deleting ``project`` removes, for the confirmation page."""
    from analytics.models import AnalyticsHourly  # analytics depends on publishing, not back

    counts = task_counts.counts_of([project.pk]).get(project.pk, {})
    return {
        "sources": ContentSource.objects.filter(project=project).count(),
        "waiting": counts.get(PublishingTask.Status.PENDING, 0) + counts.get(PublishingTask.Status.HELD, 0),
        "tasks": sum(counts.values()),
        "logs": PublishingLog.objects.filter(project=project).count(),
        "hours": AnalyticsHourly.objects.filter(project=project).count(),
    }


def project_delete_request(*, project: Project, confirm_name: str) -> Project:
    """Archive ``project`` now and queue the job that deletes it (the owner typed its name)."""
    if (confirm_name or "").strip() != project.name:
        raise ValidationError({"confirm_name": _("Type the project's name exactly to delete it.")})
    now = timezone.now()
    with transaction.atomic():
        Project.objects.filter(pk=project.pk).update(
            archived_at=project.archived_at or now, paused=True, deleting_since=now
        )
        # The decision is the event: the job that carries it out only removes rows.
        audit_record(EventType.PROJECT_DELETED, user=project.owner_id, obj=project, label=project.name)
    project.deleting_since, project.paused = now, True
    transaction.on_commit(lambda: _enqueue(project.pk))
    return project


def _enqueue(project_id: int) -> None:
    from django_q.tasks import async_task

    async_task("publishing.tasks.delete_project", project_id, task_name=f"delete project {project_id}")


def _delete_batch(queryset, batch: int) -> int:
    ids = list(queryset.values_list("pk", flat=True)[:batch])
    if ids:
        with transaction.atomic():
            queryset.model.objects.filter(pk__in=ids).delete()
    return len(ids)


def project_delete_run(project_id: int, *, batch: int = BATCH) -> bool:
    """Delete a project marked for deletion, in batches; True when it is gone."""
    project = Project.objects.filter(pk=project_id, deleting_since__isnull=False).first()
    if project is None:
        return not Project.objects.filter(pk=project_id).exists()
    Project.objects.filter(pk=project_id).update(deleting_since=timezone.now())  # still at it: not stale
    while _delete_batch(PublishingLog.objects.filter(project_id=project_id), batch):
        pass
    while _delete_batch(PublishingTask.objects.filter(project_id=project_id), batch):
        pass
    with transaction.atomic():
        Project.objects.filter(pk=project_id).delete()  # sources, counts and statistics cascade
    return True


def projects_delete_due(*, now=None) -> int:
    """Start again the deletions whose job was lost (the minutely sweep)."""
    now = now or timezone.now()
    stale = list(Project.objects.filter(deleting_since__lt=now - STALE).values_list("pk", flat=True))
    for project_id in stale:
        Project.objects.filter(pk=project_id).update(deleting_since=now)
        _enqueue(project_id)
    return len(stale)
