"""Demo history: two weeks of dry-run publishing and a reset check-in, so a new install's
charts have something to show. Idempotent (keyed on the "Demo history" project)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from analytics.aggregate import hourly_aggregate
from messaging import history, ladder
from messaging.models import Message, StatusLog
from publishing.models import Project, PublishingLog, PublishingTask

DAYS = 14
ErrorKind = PublishingLog.ErrorKind
FAILURE_KINDS = [ErrorKind.RATE_LIMIT, ErrorKind.SERVER, ErrorKind.NETWORK, ErrorKind.DUPLICATE, ErrorKind.MEDIA]


def create_demo(user) -> None:
    project, created = Project.objects.get_or_create(
        owner=user, name="Demo history", defaults={"description": "Two weeks of past dry-run posts, for the charts."}
    )
    if not created:
        return
    rng = random.Random(7)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    tasks, logs = [], []
    for index in range(DAYS * 6):
        at = now - timedelta(days=DAYS) + timedelta(hours=index * 4, minutes=rng.randint(0, 59))
        failed = rng.random() < 0.12
        tasks.append(
            PublishingTask(
                project=project,
                media_path=f"demo-history/{index}",
                content_data={"text": f"Demo post {index}"},
                status=PublishingTask.Status.FAILED if failed else PublishingTask.Status.SUCCESS,
                scheduled_at=at,
                published_at=None if failed else at,
            )
        )
    PublishingTask.objects.bulk_create(tasks)
    for task in PublishingTask.objects.filter(project=project).order_by("id"):
        failed = task.status == PublishingTask.Status.FAILED
        logs.append(
            PublishingLog(
                task=task,
                project_id=task.project_id,
                tweet_id="" if failed else f"dry-{task.pk}",
                tweet_content=task.content_data["text"],
                published_at=task.scheduled_at,
                status=PublishingLog.Status.FAILED if failed else PublishingLog.Status.SUCCESS,
                error_kind=rng.choice(FAILURE_KINDS) if failed else ErrorKind.NONE,
                error_message="demo failure" if failed else "",
                duration_seconds=round(rng.uniform(0.4, 3.5), 2),
                dry_run=True,
            )
        )
    PublishingLog.objects.bulk_create(logs)
    message = Message.objects.filter(owner=user).order_by("id").first()
    if message is not None:
        warned = now - timedelta(days=5, hours=3)
        StatusLog.objects.bulk_create(
            [
                StatusLog(
                    message=message,
                    created_at=warned,
                    **history.warning_sent(level=1, next_step_at=warned + ladder.interval_after(1)),
                ),
                StatusLog(
                    message=message,
                    created_at=warned + timedelta(hours=20),
                    **history.reset(from_level=1, actor=history.OWNER),
                ),
            ]
        )
    hourly_aggregate(since=now - timedelta(days=DAYS + 1), until=timezone.now())
