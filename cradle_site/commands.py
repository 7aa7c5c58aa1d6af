"""What Cradle's management commands share: one readable line when the database is not there.

A command run against a database that cannot be opened (a wrong DATABASE_URL, a server
that is down, a password that changed) or that was never set up (no ``init_db`` yet)
otherwise dies with a page of driver traceback. ``OperatorCommand`` turns those errors
into a ``CommandError``: ``manage.py`` then prints one line and exits 1, and
``--traceback`` still shows the cause.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, ProgrammingError, connection

# Words in a driver's message that mean "the tables are not there" (SQLite, MySQL/MariaDB).
_MISSING_TABLE = ("no such table", "doesn't exist")


def database_error_line(exc: Exception) -> str:
    """``exc`` from the database as one line, with the likely remedy."""
    detail = exc.args[-1] if exc.args else exc.__class__.__name__
    detail = " ".join(str(detail).split())
    name = connection.settings_dict.get("NAME") or "?"
    if any(words in detail.lower() for words in _MISSING_TABLE):
        return f"database {name} is not set up ({detail}); run `manage.py init_db` first"
    return f"database {name}: {detail} (check DATABASE_URL; --traceback shows more)"


class OperatorCommand(BaseCommand):
    """A BaseCommand whose database failures end in one line, not a traceback."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except (OperationalError, ProgrammingError) as exc:
            raise CommandError(database_error_line(exc)) from exc
