from pathlib import Path

from django.core.management.base import CommandError

from cradle_site.commands import OperatorCommand
from ops.backup import backup_list, backup_restore, backup_verify
from ops.sealed import BackupError


class Command(OperatorCommand):
    help = (
        "Verify, decrypt and restore a backup written by db_backup. Refuses a tampered or wrongly "
        "keyed file, and a non-empty database unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", type=Path, help="Backup file (default: the newest in BACKUP_DIR).")
        parser.add_argument(
            "--force", action="store_true", help="Overwrite a database that has data (it is replaced, not merged)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only verify the file's key and checksum; restore nothing."
        )

    def handle(self, *args, path, force, dry_run, **options):
        if path is None:
            backups = backup_list()
            if not backups:
                raise CommandError("no backup given and none found in BACKUP_DIR")
            path = backups[-1]
        try:
            if dry_run:
                header = backup_verify(path=path)
                self.stdout.write(
                    self.style.SUCCESS(f"{path} is sound ({header.get('vendor')}, {header.get('created')}).")
                )
                return
            backup_restore(path=path, force=force, progress=self.stderr.write)
        except BackupError as exc:
            raise CommandError(f"restore refused: {exc}") from exc
        except OSError as exc:  # an unreadable file, no room for the decrypted copy
            raise CommandError(f"restore failed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Restored {path}."))
