"""Demo user and data for a new install (idempotent).

Each app may provide ``<app>/demo.py`` with ``create_demo(user)``; this command creates
the demo user and an admin, then calls them.
"""

import importlib

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import User
from cradle_site.commands import OperatorCommand

APPS = ("messaging", "publishing", "analytics")


class Command(OperatorCommand):
    help = (
        "Create the demo user (demo / demo-password) and admin (admin / admin-password) with sample data. "
        "Safe to run again: what exists is left alone. Runs only with DEBUG=1 unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG=0 (a staging site): the admin's password is public, change it at once.",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            # A superuser with a published password must not appear on a live site by accident.
            raise CommandError(
                "seed_demo creates admin / admin-password and runs only with DEBUG=1; pass --force to seed anyway"
            )
        demo, created = User.objects.get_or_create(
            username="demo",
            # Verified: the demo owner's warnings go out (an unverified address has them held).
            defaults={"email": "demo@example.com", "role": User.Role.EDITOR, "email_verified_at": timezone.now()},
        )
        if created:
            demo.set_password("demo-password")
            demo.save()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser(username="admin", email="admin@example.com", password="admin-password")
        for app in APPS:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            self.stderr.write(f"Demo data: {app}…")
            module.create_demo(demo)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo ready: log in as demo / demo-password (or admin / admin-password for the back office)."
            )
        )
