from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.ops.backup import backup_create, backup_list
from analytics.ops.sealed import BackupError


class Command(BaseCommand):
    help = (
        "Write an online, consistent, encrypted backup of the database (SQLite backup API or "
        "mariadb-dump --single-transaction) to BACKUP_DIR and keep the newest BACKUP_KEEP."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=None, help="Directory (default: the BACKUP_DIR setting).")
        parser.add_argument("--keep", type=int, default=None, help="How many backups to keep (default: BACKUP_KEEP).")
        parser.add_argument("--dry-run", action="store_true", help="Say where the backup would go; write nothing.")

    def handle(self, *args, dir, keep, dry_run, **options):
        directory = Path(dir or settings.BACKUP_DIR)
        if keep is not None and keep < 1:
            raise CommandError(f"--keep must be at least 1, got {keep}")
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"--dir {directory} is not a directory")
        if dry_run:
            existing = backup_list(directory) if directory.is_dir() else []
            self.stdout.write(f"Would write a backup to {directory} ({len(existing)} there now).")
            return
        try:
            path = backup_create(directory=directory, keep=keep, progress=self.stderr.write)
        except (BackupError, OSError) as exc:
            raise CommandError(f"backup failed: {exc}")
        self.stdout.write(self.style.SUCCESS(str(path)))
