from cradle_site.commands import OperatorCommand
from ops.vacuum import db_vacuum


class Command(OperatorCommand):
    help = (
        "Reclaim space and refresh query statistics: SQLite VACUUM, ANALYZE, PRAGMA optimize; "
        "MySQL/MariaDB OPTIMIZE TABLE and ANALYZE TABLE on the project's tables."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the statements, run nothing.")

    def handle(self, *args, dry_run, **options):
        statements = db_vacuum(dry_run=dry_run, progress=self.stderr.write)
        if dry_run:
            for statement in statements:
                self.stdout.write(statement)
            return
        self.stdout.write(self.style.SUCCESS(f"Ran {len(statements)} maintenance statements."))
