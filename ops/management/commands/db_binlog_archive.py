from django.core.management.base import CommandError

from cradle_site.commands import OperatorCommand
from ops.binlog import binlog_archive
from ops.sealed import BackupError


class Command(OperatorCommand):
    help = (
        "MariaDB/MySQL: close the current binary log and archive every closed one (encrypted, "
        "checksummed, copied off-site) to BINLOG_DIR, for db_restore --until."
    )

    def handle(self, *args, **options):
        try:
            written = binlog_archive(progress=self.stderr.write)
        except BackupError as exc:
            raise CommandError(f"binlog archive failed: {exc}") from exc
        except OSError as exc:
            raise CommandError(f"binlog archive failed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Archived {len(written)} binlog file(s)."))
