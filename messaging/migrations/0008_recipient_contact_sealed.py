"""Recipient contacts encrypted at rest, step 1 of 3: the new columns, empty.

``contact_sealed`` (the Fernet token, renamed to ``contact`` by 0010), ``contact_hash`` (the
keyed hash the sweep and the admin find addresses by) and ``webhook_secret`` (each webhook
recipient's own signing secret). Added nullable-free with an empty default, which MariaDB
adds in place and SQLite with one ALTER; 0009 fills them, 0010 drops the clear column.
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
            field=cradle_site.fields.EncryptedTextField(blank=True, default=""),
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
                blank=True, default="", editable=False, verbose_name="signing secret"
            ),
        ),
    ]
