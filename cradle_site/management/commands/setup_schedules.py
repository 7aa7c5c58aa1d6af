from cradle_site.commands import OperatorCommand
from cradle_site.schedules import declared_schedules, install_schedules, unresolved_schedules


class Command(OperatorCommand):
    help = "Create or update every django-q2 schedule the apps declare (by name); safe to run on every deploy."

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true", help="Only list the declared schedules.")

    def handle(self, *args, list=False, **options):
        specs = declared_schedules()
        if list:
            for spec in specs:
                when = spec.cron or f"{spec.schedule_type} {spec.minutes or ''}".strip()
                self.stdout.write(f"{spec.full_name:40} {spec.func:45} {when}")
            return
        created, updated, removed = install_schedules()
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(specs)} schedules declared: {created} created, {updated} updated, {removed} removed."
            )
        )
        for name, func in unresolved_schedules():
            # Not ours to delete (an operator's own schedule); say so every deploy until it is fixed.
            self.stderr.write(self.style.WARNING(f"schedule {name!r} calls {func}, which does not exist any more"))
