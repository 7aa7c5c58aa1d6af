"""The security events of earlier work become audit events (issue 17): every row copied as it is,
``kind`` → ``event_type`` and ``data`` → ``extra_data``; accounts 0007 then drops the old table."""

from django.db import migrations

BATCH = 2000


def copy(apps, schema_editor):
    SecurityEvent = apps.get_model("accounts", "SecurityEvent")
    AuditEvent = apps.get_model("ops", "AuditEvent")
    batch = []
    for row in SecurityEvent.objects.order_by("id").iterator(chunk_size=BATCH):
        batch.append(
            AuditEvent(
                user_id=row.user_id,
                event_type=row.kind,
                created_at=row.created_at,
                actor_kind=row.actor_kind,
                actor_id=row.actor_id,
                actor_label=row.actor_label,
                object_type=row.object_type,
                object_id=row.object_id,
                ip=row.ip,
                user_agent=row.user_agent,
                extra_data=row.data or {},
            )
        )
        if len(batch) >= BATCH:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    if batch:
        AuditEvent.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_audit_event"),
        ("accounts", "0006_securityevent_ping_token_kinds"),
    ]

    # Back again there is nothing to undo: the copies go with ops 0001's table.
    operations = [migrations.RunPython(copy, migrations.RunPython.noop)]
