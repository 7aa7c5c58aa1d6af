"""A connection for the few statements that legitimately outlast ``DATABASE_READ_TIMEOUT``.

Every connection carries the MySQL/MariaDB read and write timeouts (settings.py), so a
frozen server fails a request, ``/healthz`` or a job instead of hanging it. A maintenance
statement that rebuilds a whole table (``OPTIMIZE TABLE`` on a big log) may run for minutes
and must not be cut off: it runs on a private connection without those two timeouts (the
connect timeout stays). SQLite has no such timeouts: there the caller's connection is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

_LIFTED = ("read_timeout", "write_timeout")


@contextmanager
def unhurried_connection(alias: str = DEFAULT_DB_ALIAS) -> Iterator[BaseDatabaseWrapper]:
    """The connection to run long maintenance statements on (outside any transaction); closed on exit."""
    shared = connections[alias]
    if shared.vendor != "mysql":
        yield shared
        return
    private = shared.copy()  # its own deep copy of the settings: the shared ones keep their timeouts
    for option in _LIFTED:
        private.settings_dict["OPTIONS"].pop(option, None)
    try:
        yield private
    finally:
        private.close()
