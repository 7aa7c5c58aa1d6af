"""The network as a dimension of the publishing statistics (issue 19).

Existing rows become X rows (the default): every task before issue 19 was an X post. The new
unique keys are created before the old ones are dropped: on MySQL the day table's old key
is the index its project foreign key uses, and an index a foreign key needs cannot be
dropped until another one starts with the same column.
"""

from django.db import migrations, models

NETWORKS = [("x", "X"), ("mastodon", "Mastodon"), ("bluesky", "Bluesky")]


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0003_daily_rollups"),
        ("publishing", "0021_network_accounts"),
    ]

    operations = [
        migrations.AddField(
            model_name="analyticsdaily",
            name="network",
            field=models.CharField(choices=NETWORKS, default="x", max_length=20, verbose_name="network"),
        ),
        migrations.AddField(
            model_name="analyticshourly",
            name="network",
            field=models.CharField(choices=NETWORKS, default="x", max_length=20, verbose_name="network"),
        ),
        migrations.AddConstraint(
            model_name="analyticsdaily",
            constraint=models.UniqueConstraint(
                fields=("project", "day", "network"), name="uniq_analytics_day_project_network"
            ),
        ),
        migrations.AddConstraint(
            model_name="analyticshourly",
            constraint=models.UniqueConstraint(
                fields=("hour_timestamp", "project", "network"), name="uniq_analytics_hour_project_network"
            ),
        ),
        migrations.RemoveConstraint(model_name="analyticsdaily", name="uniq_analytics_day_project"),
        migrations.RemoveConstraint(model_name="analyticshourly", name="uniq_analytics_hour_project"),
    ]
