"""Recipient contacts encrypted at rest, step 1 of 3: the new columns, empty.

``contact_sealed`` (the Fernet token, renamed to ``contact`` by 0010), ``contact_hash`` (the
keyed hash the sweep and the admin find addresses by) and ``webhook_secret`` (each webhook
recipient's own signing secret). The two text columns are nullable with no default: Django
gives a TEXT column on MySQL/MariaDB its default with one UPDATE of the whole table, which
on a million rows is the long lock 0009 exists to avoid. So each ALTER here is instant;
0009 fills the columns in batches, 0010 drops the clear column and makes ``contact`` NOT NULL.
"""

from django.db import migrations, models

import cradle_site.fields
import messaging.models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_message_owner_created_idx"),
    ]

    operations = [
        # A default for the clear column, so that undoing 0010 can add it back to existing rows.
        migrations.AlterField(
            model_name="recipient",
            name="contact",
            field=models.CharField(blank=True, default="", max_length=500, verbose_name="contact"),
        ),
        migrations.AddField(
            model_name="recipient",
            name="contact_sealed",
            field=cradle_site.fields.EncryptedTextField(null=True),
        ),
        migrations.AddField(
            model_name="recipient",
            name="contact_hash",
            field=messaging.models.ContactHashField(default="", editable=False, max_length=64, verbose_name="contact hash"),
        ),
        migrations.AddField(
            model_name="recipient",
            name="webhook_secret",
            field=messaging.models.WebhookSecretField(
                blank=True, editable=False, null=True, verbose_name="signing secret"
            ),
        ),
        # The default the model gives new rows; on the database a no-op (no default on TEXT).
        migrations.AlterField(
            model_name="recipient",
            name="webhook_secret",
            field=messaging.models.WebhookSecretField(
                blank=True, default="", editable=False, null=True, verbose_name="signing secret"
            ),
        ),
    ]
