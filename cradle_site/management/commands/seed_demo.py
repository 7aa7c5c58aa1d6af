"""Demo user and data for a new install (idempotent).

Each app may provide ``<app>/demo.py`` with ``create_demo(user)``; this command creates
the demo user and an admin, then calls them.
"""

import importlib

from django.core.management.base import BaseCommand

from accounts.models import User

APPS = ("messaging", "publishing", "analytics")


class Command(BaseCommand):
    help = "Create the demo user (demo / demo-password) and admin (admin / admin-password) with sample data."

    def handle(self, *args, **options):
        demo, created = User.objects.get_or_create(
            username="demo", defaults={"email": "demo@example.com", "role": User.Role.EDITOR}
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
