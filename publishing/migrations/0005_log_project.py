"""PublishingLog.project, copied from the task: nullable first, filled in id ranges.

A million-row table gets no single huge UPDATE: each batch updates at most BATCH ids, in
its own statement, so no long lock and no giant undo log. 0006 makes the column NOT NULL.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Max, Min, OuterRef, Subquery

BATCH = 10_000


def backfill_log_project(apps, schema_editor) -> None:
    """Set project from the task on every log that has none, BATCH ids at a time."""
    log_model = apps.get_model("publishing", "PublishingLog")
    task_model = apps.get_model("publishing", "PublishingTask")
    logs = log_model.objects.using(schema_editor.connection.alias)
    bounds = logs.filter(project__isnull=True).aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return
    project_of_task = Subquery(task_model.objects.filter(pk=OuterRef("task_id")).values("project_id")[:1])
    for start in range(bounds["low"], bounds["high"] + 1, BATCH):
        logs.filter(id__range=(start, start + BATCH - 1), project__isnull=True).update(project_id=project_of_task)


class Migration(migrations.Migration):
    # Each batch commits on its own (MariaDB has no transactional DDL anyway).
    atomic = False

    dependencies = [
        ("publishing", "0004_task_held_for_review"),
    ]

    operations = [
        migrations.AddField(
            model_name="publishinglog",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="logs",
                to="publishing.project",
            ),
        ),
        migrations.AddIndex(
            model_name="publishinglog",
            index=models.Index(fields=["project", "-published_at", "-id"], name="ix_logs_project_published"),
        ),
        migrations.AddIndex(
            model_name="publishinglog",
            index=models.Index(fields=["tweet_id"], name="ix_logs_tweet"),
        ),
        migrations.RunPython(backfill_log_project, migrations.RunPython.noop),
    ]
