"""The one place for test overrides: fast hashing, in-memory mail, no throttling surprises."""

import os
from pathlib import Path

os.environ.setdefault("DEBUG", "1")
# Under pytest-xdist (bin/test --fast) each worker gets its own var/: the SQLite files, backups
# and media of one worker never meet another's. Child processes a test starts inherit it.
if _worker := os.environ.get("PYTEST_XDIST_WORKER"):
    _base = os.environ.get("CRADLE_VAR_DIR") or str(Path(__file__).resolve().parent.parent / "var")
    if not Path(_base).name.startswith("xdist-"):
        os.environ["CRADLE_VAR_DIR"] = str(Path(_base) / f"xdist-{_worker}")

from cradle_site.settings import *  # noqa: E402,F403
from cradle_site.settings import REST_FRAMEWORK  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "10000/min", "user": "100000/min"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": attachment_storage(""),  # noqa: F405  (the local folder, under this worker's var/)
}

# A file, not :memory:, so subprocess tests (qcluster, concurrent workers) see the test data.
VAR_DIR.mkdir(parents=True, exist_ok=True)  # noqa: F405
if DATABASE_IS_SQLITE:  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_cradle.sqlite3")}  # noqa: F405

# A test database has no backups: the backup checks of /healthz?strict=1 are on where a test asks (tests/ops).
BACKUP_HEALTH_CHECKS = False

# The real replica bin/services runs (3308, replicating from 3307): an alias for tests/site/test_replica.py,
# mirroring the test database (replication creates it there). Routing stays off unless a test sets
# DATABASE_REPLICA_URL.
if (_replica_url := os.environ.get("TEST_REPLICA_MYSQL_URL")) and not DATABASE_IS_SQLITE:  # noqa: F405
    from cradle_site import env as _env

    DATABASES["replica"] = _env.parse_database_url(  # noqa: F405
        _replica_url,
        base_dir=BASE_DIR,  # noqa: F405
        timeouts=_env.DatabaseTimeouts(connect=2, read=30, write=30, busy=5),  # noqa: F405
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # noqa: F405
