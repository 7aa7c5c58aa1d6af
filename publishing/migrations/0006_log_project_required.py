import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0005_log_project"),
    ]

    operations = [
        migrations.AlterField(
            model_name="publishinglog",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="logs",
                to="publishing.project",
            ),
        ),
    ]
