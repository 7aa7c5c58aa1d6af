from django.core.management.base import CommandError

from cradle_site.commands import OperatorCommand
from ops.rotation import MAX_BATCH_SIZE, RotationError, column_rehash, column_rotate, encrypted_columns, hash_columns


class Command(OperatorCommand):
    help = (
        "Re-encrypt secrets at rest (every EncryptedTextField) under the newest key in FERNET_KEYS, "
        "and recompute the keyed hashes that find them (needed after SECRET_KEY changes). "
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
        total_changed = 0
        for model, field in encrypted_columns():
            try:
                changed = column_rotate(
                    model=model, field=field, batch_size=batch_size, dry_run=dry_run, progress=self.stderr.write
                )
            except RotationError as exc:
                raise CommandError(str(exc)) from None
            total_changed += changed
            self.stderr.write(f"{model._meta.label}.{field.name}: {changed} re-encrypted")
        total_hashes = 0
        for model, field in hash_columns():
            changed = column_rehash(
                model=model, field=field, batch_size=batch_size, dry_run=dry_run, progress=self.stderr.write
            )
            total_hashes += changed
            self.stderr.write(f"{model._meta.label}.{field.name}: {changed} recomputed")
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        hashed = "would be recomputed" if dry_run else "recomputed"
        self.stdout.write(self.style.SUCCESS(f"{total_changed} values {verb}; {total_hashes} keyed hashes {hashed}."))
