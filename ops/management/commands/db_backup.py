from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from cradle_site.commands import OperatorCommand
from ops.backup import EmptyDatabaseError, backup_create, backup_list, database_is_empty
from ops.sealed import BackupError


class Command(OperatorCommand):
    help = (
        "Write an online, consistent, encrypted backup of the database (SQLite backup API or "
        "mariadb-dump --single-transaction) to BACKUP_DIR and keep the newest BACKUP_KEEP."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=None, help="Directory (default: the BACKUP_DIR setting).")
        parser.add_argument("--keep", type=int, default=None, help="How many backups to keep (default: BACKUP_KEEP).")
        parser.add_argument("--dry-run", action="store_true", help="Say where the backup would go; write nothing.")
        parser.add_argument(
            "--allow-empty",
            action="store_true",
            help="Back up a database with no data too (refused by default: it usually means a wrong DATABASE_URL, "
            "and an empty backup would push a real one out of the kept set).",
        )

    def handle(self, *args, dir, keep, dry_run, allow_empty, **options):
        directory = Path(dir or settings.BACKUP_DIR)
        if keep is not None and keep < 1:
            raise CommandError(f"--keep must be at least 1, got {keep}")
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{'--dir' if dir else 'BACKUP_DIR'} {directory} is not a directory")
        if dry_run and not allow_empty and database_is_empty():
            raise CommandError("backup would fail: the database is empty; pass --allow-empty to back it up anyway")
        if dry_run:
            existing = backup_list(directory) if directory.is_dir() else []
            self.stdout.write(f"Would write a backup to {directory} ({len(existing)} there now).")
            return
        try:
            path = backup_create(directory=directory, keep=keep, allow_empty=allow_empty, progress=self.stderr.write)
        except EmptyDatabaseError as exc:
            raise CommandError(f"backup failed: {exc}; pass --allow-empty to back it up anyway") from exc
        except (BackupError, OSError) as exc:
            raise CommandError(f"backup failed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(str(path)))
