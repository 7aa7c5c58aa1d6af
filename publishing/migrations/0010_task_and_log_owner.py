"""PublishingTask.owner and PublishingLog.owner, copied from the project: nullable first,
filled in id ranges, indexed once filled.

A million-row table gets no single huge UPDATE: each batch updates at most BATCH ids in its
own statement (no long lock, no giant undo log), and the indexes are built after the
backfill rather than maintained row by row through it. 0009 makes the columns NOT NULL.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Max, Min, OuterRef, Subquery

BATCH = 10_000


def _backfill(rows, project_model) -> None:
    bounds = rows.filter(owner__isnull=True).aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return
    owner_of_project = Subquery(project_model.objects.filter(pk=OuterRef("project_id")).values("owner_id")[:1])
    for start in range(bounds["low"], bounds["high"] + 1, BATCH):
        rows.filter(id__range=(start, start + BATCH - 1), owner__isnull=True).update(owner_id=owner_of_project)


def backfill_owners(apps, schema_editor) -> None:
    project_model = apps.get_model("publishing", "Project")
    alias = schema_editor.connection.alias
    for name in ("PublishingTask", "PublishingLog"):
        _backfill(apps.get_model("publishing", name)._default_manager.db_manager(alias), project_model)


class Migration(migrations.Migration):
    # Each batch commits on its own (MariaDB has no transactional DDL anyway).
    atomic = False

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("publishing", "0009_project_google_drive_oauth"),
    ]

    operations = [
        migrations.AddField(
            model_name="publishinglog",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="publishing_logs",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="publishingtask",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="publishing_tasks",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(backfill_owners, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="publishinglog",
            index=models.Index(fields=["owner", "-published_at", "-id"], name="ix_logs_owner_published"),
        ),
        migrations.AddIndex(
            model_name="publishingtask",
            index=models.Index(fields=["owner", "-scheduled_at", "-id"], name="ix_tasks_owner_sched"),
        ),
        migrations.AddIndex(
            model_name="publishingtask",
            index=models.Index(fields=["owner", "status", "-scheduled_at", "-id"], name="ix_tasks_owner_status"),
        ),
    ]
