from django.core.management.base import CommandError

from cradle_site.commands import OperatorCommand
from ops.drill import restore_drill


class Command(OperatorCommand):
    help = (
        "Restore drill: restore the newest backup (and the archived binlogs) into a scratch database, "
        "check row counts and decrypt a sample of encrypted values, and record the result."
    )

    def handle(self, *args, **options):
        drill = restore_drill(progress=lambda line: None)
        if not drill.ok:
            raise CommandError(f"restore drill failed: {drill.detail}")
        self.stdout.write(self.style.SUCCESS(f"Restore drill passed in {drill.seconds:.1f} s: {drill.detail}."))
