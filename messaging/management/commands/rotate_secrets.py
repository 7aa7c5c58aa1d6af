"""Re-encrypt every EncryptedTextField column under the newest Fernet key.

Finds the fields itself (every model of every app), so message content, titles and the
publishing credentials are all covered. Rows already readable with the newest key alone
are left as they are, so the command can be stopped and run again.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, transaction

from cradle_site import crypto
from cradle_site.commands import OperatorCommand
from cradle_site.fields import EncryptedTextField

# Rows read into memory per transaction; more would only overflow the LIMIT and hold locks long.
MAX_BATCH_SIZE = 100_000


def encrypted_columns() -> list[tuple[type, EncryptedTextField]]:
    return [
        (model, field)
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


class Command(OperatorCommand):
    help = (
        "Re-encrypt secrets at rest (every EncryptedTextField) under the newest key in FERNET_KEYS. "
        "Put the new key first and keep the old ones after it until this has run; safe to stop and "
        "run again. Progress per batch goes to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help=f"Rows read and re-encrypted per transaction, 1 to {MAX_BATCH_SIZE:,} (default 500).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the values still under an older key; write nothing."
        )

    def handle(self, *args, batch_size: int, dry_run: bool, **options):
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1, got {batch_size}")
        if batch_size > MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be at most {MAX_BATCH_SIZE}, got {batch_size}")
        newest = Fernet(settings.FERNET_KEYS[0])
        total_changed = 0
        for model, field in encrypted_columns():
            changed = self._rotate(model, field, newest, batch_size, dry_run)
            total_changed += changed
            self.stderr.write(f"{model._meta.label}.{field.name}: {changed} re-encrypted")
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(self.style.SUCCESS(f"{total_changed} values {verb}."))

    def _rotate(self, model, field, newest: Fernet, batch_size: int, dry_run: bool) -> int:
        # Raw SQL on purpose: the ORM would hand us plaintext; we want the stored tokens.
        qn = connection.ops.quote_name
        table, column, pk = qn(model._meta.db_table), qn(field.column), qn(model._meta.pk.column)
        select = f"SELECT {pk}, {column} FROM {table} WHERE {pk} > %s ORDER BY {pk} LIMIT %s"
        update = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s"
        last, changed, seen = None, 0, 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(select, [last if last is not None else -1, batch_size])
                rows = cursor.fetchall()
                if not rows:
                    return changed
                updates = []
                for row_pk, token in rows:
                    if not token:
                        continue
                    try:
                        newest.decrypt(token.encode("ascii"))
                        continue  # already under the newest key
                    except InvalidToken:
                        pass
                    try:
                        updates.append((crypto.rotate(token), row_pk))
                    except InvalidToken:
                        raise CommandError(
                            f"{model._meta.label}.{field.name} row {row_pk} cannot be decrypted with any key in "
                            "FERNET_KEYS (is the old key still listed after the new one?)"
                        ) from None
                if updates and not dry_run:
                    cursor.executemany(update, updates)
                changed += len(updates)
                seen += len(rows)
                last = rows[-1][0]
            self.stderr.write(f"  {model._meta.label}.{field.name}: {seen} rows checked, {changed} re-encrypted")
