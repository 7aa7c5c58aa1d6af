"""Read settings from the environment, failing loudly on bad values.

Every helper raises ``ImproperlyConfigured`` with one readable line naming the
variable, so a typo in a deployment stops start-up instead of running with a
silently wrong default.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {number}")
    return number


def env_choice(name: str, default: str, choices: list[str]) -> str:
    """One of ``choices`` (compared without case), returned as spelled in ``choices``."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")


_RATE = re.compile(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)")


def env_rate(name: str, default: str) -> str:
    """A request rate as DRF reads it: ``<count>/<s|min|hour|day>``."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if not _RATE.fullmatch(value.strip()):
        raise ImproperlyConfigured(f"{name} must be a rate like 60/min (per s, min, hour or day), got {value!r}")
    return value.strip()


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """Comma-separated IP networks (``10.0.0.0/8,fd00::/8``, a bare address is a /32 or /128)."""
    import ipaddress

    out = []
    for item in env_list(name):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or network (10.0.0.0/8)") from None
    return out


_HOST_PORT = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\]):\d{1,5}"
)


def host_ports(name: str) -> list[str]:
    """A comma-separated list of ``host:port`` (the port is required: one service, not a whole host)."""
    items = [item.lower() for item in env_list(name)]
    for item in items:
        if not _HOST_PORT.fullmatch(item):
            raise ImproperlyConfigured(f"{name}: {item!r} is not host:port (e.g. sms.internal:8080)")
    return items


def admins(name: str) -> list[tuple[str, str]]:
    """``ADMINS`` as Django wants it, from ``"Ops <ops@example.com>,oncall@example.com"``."""
    out = []
    for item in env_list(name):
        display, address = parseaddr(item)
        if "@" not in address:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an e-mail address")
        out.append((display or address, address))
    return out


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Seconds. MySQL/MariaDB: ``connect``, ``read`` and ``write`` (0 = no limit for the last
    two); SQLite: ``busy``, how long a writer waits for the file's write lock."""

    connect: int
    read: int
    write: int
    busy: int

    def mysql_options(self) -> dict:
        # mysqlclient passes an option to the client library only when it is set; an unset
        # read/write timeout waits for ever. MariaDB Connector/C waits each timeout once;
        # MySQL's libmysqlclient retries a read, so there a read can wait up to 3x.
        options = {"connect_timeout": self.connect}
        if self.read:
            options["read_timeout"] = self.read
        if self.write:
            options["write_timeout"] = self.write
        return options


def parse_database_url(url: str, *, base_dir: Path, timeouts: DatabaseTimeouts) -> dict:
    """Turn ``sqlite:///path`` or ``mysql://user:pass@host:port/name`` into a DATABASES entry."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path
        raw = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not raw:
            raise ImproperlyConfigured(f"DATABASE_URL {url!r} names no SQLite file")
        path = Path(raw)
        if not path.is_absolute():
            path = base_dir / path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            # IMMEDIATE transactions make a writer take the lock at BEGIN, so two
            # workers never deadlock upgrading a read lock; WAL lets readers go on.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": timeouts.busy,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    if scheme in {"mysql", "mariadb"}:
        name = unquote(parts.path.lstrip("/"))
        if not name or "/" in name:
            raise ImproperlyConfigured(
                f"DATABASE_URL {_redact(url)!r} must name one database: mysql://user:pass@host:port/name"
            )
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"DATABASE_URL {_redact(url)!r} has a bad port") from None
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        options = {
            "charset": "utf8mb4",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            **timeouts.mysql_options(),
        }
        if "unix_socket" in query:
            options["unix_socket"] = query["unix_socket"]
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": name,
            "USER": unquote(parts.username or "root"),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "127.0.0.1",
            "PORT": str(port or 3306),
            "OPTIONS": options,
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL {_redact(url)!r} is not understood: use sqlite:///path or mysql://user:pass@host:port/name"
    )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def fernet_keys(name: str, *, fallback_secret: str | None) -> list[str]:
    """The Fernet key list, newest first. Without the variable, derive a dev key.

    Production settings pass ``fallback_secret=None`` so a missing key stops start-up.
    """
    from cryptography.fernet import Fernet

    keys = env_list(name)
    if not keys:
        if fallback_secret is None:
            raise ImproperlyConfigured(f"{name} must be set (comma-separated Fernet keys, newest first)")
        digest = hashlib.sha256(("cradle-dev-fernet:" + fallback_secret).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{name} entry {index + 1} is not a valid Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return keys


def redis_url(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ImproperlyConfigured(f"{name} must look like redis://host:6379/0, got {_redact(value)!r}")
    return value
