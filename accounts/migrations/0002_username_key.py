"""The folded account name (accounts.identity) as a unique column, filled in batches.

Adding a NULL column and its unique index is online on MariaDB 10.6+ (no table copy); the
backfill walks the table by primary key, 1,000 rows per statement batch, so no transaction
holds many rows. Two old accounts whose names fold to one key ("Dave" and "dave" on
SQLite) cannot both have it: the older one keeps the key, the other keeps NULL and still
logs in by its exact name (accounts.backends) - staff can rename it.
"""

import unicodedata

from django.db import migrations, models, transaction

BATCH = 1000


def _key(username: str) -> str:
    # accounts.identity.username_key, frozen here: a migration must not change when the module does.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username.strip()).casefold())


def backfill(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    last = 0
    while True:
        rows = list(User.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "username")[:BATCH])
        if not rows:
            return
        last = rows[-1][0]
        wanted = {}
        for pk, username in rows:
            wanted.setdefault(_key(username), pk)  # the older account (smaller pk) wins within a batch
        with transaction.atomic():  # one short transaction per batch (the migration is not atomic)
            taken = set(User.objects.filter(username_key__in=list(wanted)).values_list("username_key", flat=True))
            for key, pk in wanted.items():
                if key not in taken:
                    User.objects.filter(pk=pk).update(username_key=key)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="username_key",
            field=models.CharField(editable=False, max_length=450, null=True, unique=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
