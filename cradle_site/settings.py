"""Cradle settings. Every value comes from the environment through ``cradle_site.env``.

``DEBUG=1`` (the default on a developer machine, see README) relaxes what production
must set: the secret key and Fernet keys get development fallbacks. With ``DEBUG=0``
both must be given, and the security middleware settings below pass
``manage.py check --deploy``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from cradle_site import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.env_str("CRADLE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.env_bool("DEBUG", False)

_DEV_SECRET = "dev-insecure-secret-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env.env_str("SECRET_KEY", _DEV_SECRET if DEBUG else None)
if not DEBUG and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters when DEBUG is off")

ALLOWED_HOSTS = env.env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env.env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_q",
    "cradle_site",
    "accounts",
    "messaging",
    "publishing",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cradle_site.urls"
WSGI_APPLICATION = "cradle_site.wsgi.application"
ASGI_APPLICATION = "cradle_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "cradle_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database --------------------------------------------------------------
DATABASE_URL = env.env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cradle.sqlite3'}")
DATABASES = {"default": env.parse_database_url(DATABASE_URL, base_dir=BASE_DIR)}
DATABASE_IS_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n / time -------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "cradle_site" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- caches (rate limits live here: use Redis when there is more than one process) --
CACHE_REDIS_URL = env.redis_url("CACHE_REDIS_URL")
if CACHE_REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cradle"}}

# --- secrets at rest ------------------------------------------------------------
# Newest key first; older keys still decrypt until `manage.py rotate_secrets` re-encrypts.
FERNET_KEYS = env.fernet_keys("FERNET_KEYS", fallback_secret=SECRET_KEY if DEBUG else None)

# --- e-mail ---------------------------------------------------------------------
EMAIL_BACKEND = env.env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env.env_str("DEFAULT_FROM_EMAIL", "Cradle <cradle@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- jobs (django-q2) -----------------------------------------------------------
Q_REDIS_URL = env.redis_url("Q_REDIS_URL")
Q_CLUSTER = {
    "name": env.env_str("Q_CLUSTER_NAME", "cradle"),
    # SQLite has no row locks and one writer: one worker avoids "database is locked".
    "workers": env.env_int("Q_WORKERS", 1 if DATABASE_IS_SQLITE else 2, minimum=1),
    "timeout": env.env_int("Q_TIMEOUT", 300, minimum=1),
    # retry must exceed timeout, or a slow task is handed to a second worker while it runs.
    "retry": env.env_int("Q_RETRY", 360, minimum=2),
    "max_attempts": env.env_int("Q_MAX_ATTEMPTS", 3, minimum=1),
    "save_limit": env.env_int("Q_SAVE_LIMIT", 1000, minimum=0),
    "catch_up": False,
    "ack_failures": True,
    "poll": 0.5,
    "label": "Jobs",
}
if Q_REDIS_URL:
    Q_CLUSTER["redis"] = Q_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("Q_RETRY must be larger than Q_TIMEOUT")

# Heartbeat: the cluster is "stale" when no sweep ran within this many seconds.
CRADLE_HEARTBEAT_STALE_SECONDS = env.env_int("CRADLE_HEARTBEAT_STALE_SECONDS", 300, minimum=60)

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.HasScope"],
    "DEFAULT_PAGINATION_CLASS": "cradle_site.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.env_str("API_THROTTLE_ANON", "60/min"),
        "user": env.env_str("API_THROTTLE_USER", "1200/min"),
    },
    "EXCEPTION_HANDLER": "cradle_site.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cradle API",
    "DESCRIPTION": "Cradle messages (a dead man's switch) and scheduled publishing to X. "
    "Authenticate with `Authorization: Bearer <api key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}
# API key last_used is written at most this often per key, not on every request.
API_KEY_LAST_USED_RESOLUTION = timedelta(minutes=5)

# --- rate limits for pages (attempts, window seconds) -------------------------------
RATE_LIMIT_LOGIN = (env.env_int("RATE_LIMIT_LOGIN_ATTEMPTS", 5, minimum=1), 300)
RATE_LIMIT_CHECKIN = (env.env_int("RATE_LIMIT_CHECKIN_ATTEMPTS", 20, minimum=1), 300)
RATE_LIMIT_REVOKE = (env.env_int("RATE_LIMIT_REVOKE_ATTEMPTS", 10, minimum=1), 300)

# --- security (production) ---------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- messaging (the escalation ladder, delivery channels) -------------------------
# (messaging settings go here)

# --- publishing (sources, queue, X) ------------------------------------------------
# (publishing settings go here)

# --- analytics and operations (aggregation, purge, backups) -------------------------
# (analytics settings go here)
