"""Recipient contacts encrypted at rest, step 3 of 3: drop the clear column, the token takes its name.

``contact`` becomes NOT NULL (every row was filled by 0009): on MariaDB an in-place rebuild
that lets writes go on; dropping and renaming a column are instant there.

Then the index the admin's search by address and the sweep's one-delivery-per-address read
use (built once the column is filled: one pass, not a million index updates).
"""

from django.db import migrations, models

import cradle_site.fields


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0009_recipient_contact_backfill"),
    ]

    operations = [
        migrations.RemoveField(model_name="recipient", name="contact"),
        migrations.RenameField(model_name="recipient", old_name="contact_sealed", new_name="contact"),
        migrations.AlterField(
            model_name="recipient",
            name="contact",
            field=cradle_site.fields.EncryptedTextField(verbose_name="contact"),
        ),
        migrations.AddIndex(
            model_name="recipient",
            index=models.Index(fields=["contact_hash"], name="recipient_contact_hash_idx"),
        ),
    ]
