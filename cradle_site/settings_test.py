"""The one place for test overrides: fast hashing, in-memory mail, no throttling surprises."""

import os

os.environ.setdefault("DEBUG", "1")

from cradle_site.settings import *  # noqa: E402,F403
from cradle_site.settings import REST_FRAMEWORK  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "10000/min", "user": "100000/min"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# A file, not :memory:, so subprocess tests (qcluster, concurrent workers) see the test data.
VAR_DIR.mkdir(parents=True, exist_ok=True)  # noqa: F405
if DATABASE_IS_SQLITE:  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_cradle.sqlite3")}  # noqa: F405
