import argparse
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from cradle_site.commands import OperatorCommand
from ops import binlog, offsite
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
        parser.add_argument(
            "--until",
            type=_moment,
            default=None,
            help='MariaDB/MySQL: then replay the archived binlogs up to this moment ("2026-12-01 10:42:00", '
            "in TIME_ZONE unless it names an offset).",
        )
        parser.add_argument(
            "--from-offsite",
            action="store_true",
            help="Download the backup (a name, or the newest) from BACKUP_S3_URL first.",
        )

    def handle(self, *args, path, force, dry_run, until, from_offsite, **options):
        if from_offsite:
            path = self._download(path)
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
            backup_restore(path=path, force=force, until=until, progress=self.stderr.write)
        except BackupError as exc:
            raise CommandError(f"restore refused: {exc}") from exc
        except OSError as exc:  # an unreadable file, no room for the decrypted copy
            raise CommandError(f"restore failed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Restored {path}."))

    def _download(self, path: Path | None) -> Path:
        """The named (or newest) off-site backup, and the binlog archives, fetched into BACKUP_DIR."""
        if offsite.target() is None:
            raise CommandError("--from-offsite needs BACKUP_S3_URL (and the bucket's credentials in the environment)")
        try:
            names = [name for name in offsite.remote_names(offsite.BACKUPS) if name.endswith(".cbak")]
            if path is not None:
                names = [name for name in names if name == path.name]
            if not names:
                raise CommandError("no such backup off-site" if path else "no backup found off-site")
            local = offsite.download(names[-1], Path(settings.BACKUP_DIR))
            have = binlog.archived()
            for name in offsite.remote_names(offsite.BINLOGS):
                if name.endswith(binlog.SUFFIX) and binlog.log_file_of(name) not in have:
                    offsite.download(name, Path(settings.BINLOG_DIR), kind=offsite.BINLOGS)
        except BackupError as exc:
            raise CommandError(f"restore refused: {exc}") from exc
        self.stderr.write(f"downloaded and checked {local.name}")
        return local


def _moment(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        # ArgumentTypeError: argparse shows this text (a ValueError would read "invalid _moment value").
        raise argparse.ArgumentTypeError(f'not a date and time: {raw!r} (use "YYYY-MM-DD HH:MM:SS")') from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
