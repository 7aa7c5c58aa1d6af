"""Give space back and refresh the planner's statistics (``db_vacuum``).

SQLite: ``VACUUM`` rebuilds the file without free pages, ``ANALYZE`` and
``PRAGMA optimize`` refresh index statistics. MySQL/MariaDB: ``OPTIMIZE TABLE`` rebuilds
each of the project's tables (InnoDB does it online) and ``ANALYZE TABLE`` refreshes its
statistics. Run it after a large purge; both lock little on InnoDB, but VACUUM on SQLite
blocks writers for its duration, so the schedule runs it monthly at night.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection

from cradle_site.db_timeouts import unhurried_connection


def vacuum_statements() -> list[str]:
    if connection.vendor == "sqlite":
        return ["VACUUM", "ANALYZE", "PRAGMA optimize"]
    tables = sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))
    quoted = [connection.ops.quote_name(table) for table in tables]
    return [f"OPTIMIZE TABLE {name}" for name in quoted] + [f"ANALYZE TABLE {name}" for name in quoted]


def db_vacuum(*, dry_run: bool = False, progress: Callable[[str], None] = print) -> list[str]:
    """Run (or with ``dry_run`` only list) the maintenance statements; return them."""
    statements = vacuum_statements()
    if dry_run:
        return statements
    if connection.in_atomic_block:
        raise RuntimeError("db_vacuum cannot run inside a transaction")
    # OPTIMIZE TABLE rebuilds a table and may outlast DATABASE_READ_TIMEOUT on a big one.
    with unhurried_connection() as maintenance, maintenance.cursor() as cursor:
        for statement in statements:
            progress(statement)
            cursor.execute(statement)
            if connection.vendor != "sqlite":
                # OPTIMIZE/ANALYZE answer with a result set that must be read before the next statement.
                cursor.fetchall()
    return statements
