"""Take a database from nothing to ready (the seed's ``scripts/init_db.py``).

Creates the MySQL/MariaDB database with utf8mb4 if it does not exist, migrates, installs
the schedules, and creates the first admin when asked. Safe to run again.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from cradle_site.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Create the database if needed, migrate, install schedules, optionally create the first admin."

    def add_arguments(self, parser):
        parser.add_argument("--admin-username", help="Create this administrator if no user has that name.")
        parser.add_argument("--admin-email", help="E-mail for the administrator (needed when it is created).")
        parser.add_argument("--admin-password", help="Password for the administrator (or set CRADLE_ADMIN_PASSWORD).")

    def handle(self, *args, **options):
        username = options.get("admin_username")
        if username is not None:
            self._check_admin_options(username, options.get("admin_email"))
        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("mysql"):
            self._create_mysql_database(db)
        elif db["ENGINE"].endswith("sqlite3"):
            from pathlib import Path

            folder = Path(db["NAME"]).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CommandError(
                    f"cannot create the folder {folder} for the SQLite database: {exc.strerror}"
                ) from exc
        self.stderr.write("Migrating…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("setup_schedules", stdout=self.stdout)
        if username:
            self._create_admin(username, options.get("admin_email"), options.get("admin_password"))
        self.stdout.write(self.style.SUCCESS("Database ready."))

    def _create_mysql_database(self, db: dict) -> None:
        import MySQLdb

        kwargs = {"user": db["USER"], "passwd": db["PASSWORD"], "charset": "utf8mb4"}
        if db["OPTIONS"].get("unix_socket"):
            kwargs["unix_socket"] = db["OPTIONS"]["unix_socket"]
        else:
            kwargs.update(host=db["HOST"], port=int(db["PORT"]))
        try:
            conn = MySQLdb.connect(**kwargs)
        except MySQLdb.Error as exc:
            raise CommandError(f"cannot connect to MySQL at {db['HOST']}:{db['PORT']}: {exc.args[-1]}") from None
        name = db["NAME"].replace("`", "``")
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.close()
        self.stderr.write(f"Database {db['NAME']} exists (utf8mb4).")

    def _check_admin_options(self, username: str, email: str | None) -> None:
        # Checked before migrating, so a typo does not surface only after the slow part.
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        if not username.strip():
            raise CommandError("--admin-username must not be empty")
        if email is not None:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"--admin-email must be an e-mail address, got {email!r}") from None

    def _create_admin(self, username: str, email: str | None, password: str | None) -> None:
        import os

        password = password or os.environ.get("CRADLE_ADMIN_PASSWORD")
        if User.objects.filter(username=username).exists():
            self.stderr.write(f"Administrator {username} already exists; left unchanged.")
            return
        if not password or not email:
            raise CommandError("--admin-email and --admin-password (or CRADLE_ADMIN_PASSWORD) are needed")
        User.objects.create_superuser(username=username, email=email, password=password)
        self.stderr.write(f"Created administrator {username}.")
