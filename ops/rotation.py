"""Re-encrypt every EncryptedTextField column under the newest Fernet key (``rotate_secrets``).

Finds the fields itself (every model of every app), so message content, titles, recipient
contacts and webhook signing secrets and the publishing credentials are all covered. Rows
already readable with the newest key alone are left as they are, so a rotation can be
stopped and run again. Each batch's rows are locked while they are rewritten (FOR UPDATE
where the database has it), so a value changed meanwhile (a regenerated webhook secret)
is not overwritten with its old one.

It also recomputes every keyed hash column (``KeyedHashField``, e.g. a recipient's
``contact_hash``) from the decrypted values, rewriting only those that differ: nothing after
a Fernet rotation, every row after a change of SECRET_KEY, which keys them
(``cradle_site.crypto.lookup_hash``).
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from cradle_site import crypto
from cradle_site.fields import EncryptedTextField, KeyedHashField

# Rows read, re-encrypted and written back per transaction. The write is one UPDATE with three
# parameters per row, so this keeps it under SQLite's 32,766 variables and a batch's tokens well
# inside MariaDB's max_allowed_packet; more would also hold the row locks long.
MAX_BATCH_SIZE = 5_000


class RotationError(Exception):
    """A stored value no key in FERNET_KEYS can read; the message is one readable line."""


def encrypted_columns() -> list[tuple[type, EncryptedTextField]]:
    return [
        (model, field)
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def column_rotate(
    *, model: type, field: EncryptedTextField, batch_size: int, dry_run: bool, progress: Callable[[str], None]
) -> int:
    """Re-encrypt (or with ``dry_run`` only count) one column's values under an older key."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH_SIZE}")
    newest = Fernet(settings.FERNET_KEYS[0])
    # Raw SQL on purpose: the ORM would hand us plaintext; we want the stored tokens.
    qn = connection.ops.quote_name
    table, column, pk = qn(model._meta.db_table), qn(field.column), qn(model._meta.pk.column)
    select = f"SELECT {pk}, {column} FROM {table} WHERE {pk} > %s ORDER BY {pk} LIMIT %s"
    if connection.features.has_select_for_update:
        select += " FOR UPDATE"
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
                    raise RotationError(
                        f"{model._meta.label}.{field.name} row {row_pk} cannot be decrypted with any key in "
                        "FERNET_KEYS (is the old key still listed after the new one?)"
                    ) from None
            if updates and not dry_run:
                cursor.execute(*batch_update(table=table, column=column, pk=pk, updates=updates))
            changed += len(updates)
            seen += len(rows)
            last = rows[-1][0]
        progress(f"  {model._meta.label}.{field.name}: {seen} rows checked, {changed} re-encrypted")


def batch_update(*, table: str, column: str, pk: str, updates: list[tuple[str, object]]) -> tuple[str, list]:
    """One ``UPDATE ... CASE`` writing every ``(token, pk)`` of a batch: a round trip per batch, not per row."""
    whens = " ".join(f"WHEN {pk} = %s THEN %s" for _ in updates)
    ids = ", ".join(["%s"] * len(updates))
    params = [value for token, row_pk in updates for value in (row_pk, token)]
    params += [row_pk for _, row_pk in updates]
    return f"UPDATE {table} SET {column} = CASE {whens} ELSE {column} END WHERE {pk} IN ({ids})", params


def hash_columns() -> list[tuple[type, KeyedHashField]]:
    return [
        (model, field)
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if isinstance(field, KeyedHashField)
    ]


def column_rehash(
    *, model: type, field: KeyedHashField, batch_size: int, dry_run: bool, progress: Callable[[str], None]
) -> int:
    """Recompute (or with ``dry_run`` only count) one keyed hash column's stale values, a batch per transaction."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH_SIZE}")
    rows = model._base_manager.order_by("pk").only("pk", *field.sources, field.attname)
    last, changed, seen = None, 0, 0
    while True:
        with transaction.atomic():
            batch = list((rows if last is None else rows.filter(pk__gt=last)).select_for_update()[:batch_size])
            if not batch:
                return changed
            stale = []
            for obj in batch:
                value = field.digest(obj)
                if value != getattr(obj, field.attname):
                    setattr(obj, field.attname, value)
                    stale.append(obj)
            if stale and not dry_run:
                model._base_manager.bulk_update(stale, [field.name])
            changed += len(stale)
            seen += len(batch)
            last = batch[-1].pk
        progress(f"  {model._meta.label}.{field.name}: {seen} rows checked, {changed} recomputed")
