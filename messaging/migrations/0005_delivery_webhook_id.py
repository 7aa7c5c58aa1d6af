"""Delivery.uid: the delivery id every attempt carries (webhook-id, Message-ID).

Added nullable, filled one random id per existing row, then made required: an AddField with
``default=uuid.uuid4`` alone evaluates the default once and gives every old row the same id.
"""

import uuid

from django.db import migrations, models

BATCH = 1000


def fill_uids(apps, schema_editor):
    Delivery = apps.get_model("messaging", "Delivery")
    ids = list(Delivery.objects.filter(uid__isnull=True).values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        rows = [Delivery(pk=pk, uid=uuid.uuid4()) for pk in ids[start : start + BATCH]]
        Delivery.objects.bulk_update(rows, ["uid"])


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_statuslog_data"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="uid",
            field=models.UUIDField(editable=False, null=True, verbose_name="delivery id"),
        ),
        migrations.RunPython(fill_uids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="delivery",
            name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, verbose_name="delivery id"),
        ),
    ]
