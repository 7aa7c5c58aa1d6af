"""Recipient contacts encrypted at rest, step 2 of 3: fill the new columns in id batches.

Each batch reads BATCH rows by primary key (a range walk, never OFFSET), encrypts the
contact, computes its keyed hash and, for a webhook recipient, makes its signing secret,
and writes them back in one UPDATE in its own transaction: no long lock and no giant undo
log on a million-row table, and a migration stopped halfway starts again where it left off
(a row whose secret is set keeps it). The hash comes from the code's own normaliser
(messaging.contacts): it must equal what the code computes for new rows.
"""

from django.db import migrations, transaction

BATCH = 1_000


def _batches(model, alias, fields):
    rows = model.objects.using(alias).order_by("id")
    last = 0
    while True:
        batch = list(rows.filter(id__gt=last).values_list("id", *fields)[:BATCH])
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def seal(apps, schema_editor) -> None:
    from messaging.contacts import contact_hash
    from cradle_site.webhooks import new_secret

    recipient = apps.get_model("messaging", "Recipient")
    alias = schema_editor.connection.alias
    for batch in _batches(recipient, alias, ("contact_type", "contact", "webhook_secret")):
        updates = [
            recipient(
                id=pk,
                contact_sealed=contact,
                contact_hash=contact_hash(contact_type, contact),
                webhook_secret=(secret or new_secret()) if contact_type == "webhook" else "",
            )
            for pk, contact_type, contact, secret in batch
        ]
        with transaction.atomic(using=alias):
            recipient.objects.using(alias).bulk_update(updates, ["contact_sealed", "contact_hash", "webhook_secret"])


def unseal(apps, schema_editor) -> None:
    recipient = apps.get_model("messaging", "Recipient")
    alias = schema_editor.connection.alias
    for batch in _batches(recipient, alias, ("contact_sealed",)):
        updates = [recipient(id=pk, contact=contact) for pk, contact in batch]
        with transaction.atomic(using=alias):
            recipient.objects.using(alias).bulk_update(updates, ["contact"])


class Migration(migrations.Migration):
    # Each batch commits on its own (MariaDB has no transactional DDL anyway).
    atomic = False

    dependencies = [
        ("messaging", "0008_recipient_contact_sealed"),
    ]

    operations = [
        migrations.RunPython(seal, unseal),
    ]
