"""Cradle settings. Every value comes from the environment through ``cradle_site.env``.

``DEBUG=1`` (the default on a developer machine, see README) relaxes what production
must set: the secret key and Fernet keys get development fallbacks. With ``DEBUG=0``
both must be given, and the security middleware settings below pass
``manage.py check --deploy``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
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
# Production must say where it lives (system check cradle.E001); bin/dev builds it from PORT.
SITE_URL = env.env_str("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")

INSTALLED_APPS = [
    "cradle_site.apps.CradleAdminConfig",  # django.contrib.admin with the rate-limited log-in
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_q",
    "django_otp",  # second factors (accounts.mfa): its TOTP device, nothing of its middleware
    "cradle_site.apps.OTPTOTPConfig",  # django_otp.plugins.otp_totp, with a translated name
    "cradle_site",
    "accounts",
    "messaging",
    "publishing",
    "analytics",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header (CONTENT_SECURITY_POLICY below) on every response.
    "csp.middleware.CSPMiddleware",
    # /healthz is answered here, before any middleware that reads the database (the session,
    # the signed-in user): a database outage is a 503 "fail", never a 500.
    "cradle_site.middleware.HealthzMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After a request that wrote, the visitor reads from the primary, not the replica, for a while.
    "cradle_site.replica.ReplicaPinMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    # Who is acting, for the audit log (ops.audit): services read it, no request argument needed.
    "cradle_site.middleware.AuditContextMiddleware",
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
                "messaging.context_processors.pause_banner",
            ],
        },
    },
]

# --- database --------------------------------------------------------------
DATABASE_URL = env.env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cradle.sqlite3'}")
# Seconds. A frozen database server must not hang a request, /healthz or a worker for ever.
# The read timeout bounds the wait for any answer, so it stays above the slowest legitimate
# statement: InnoDB's lock wait (innodb_lock_wait_timeout, 50 s by default) must end as the
# retryable "lock wait timeout" (1205), not as a lost connection; purges and scans run in
# short batches and backups run mysqldump in a subprocess. 0 = no limit (read, write).
DATABASE_CONNECT_TIMEOUT = env.env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
DATABASE_READ_TIMEOUT = env.env_int("DATABASE_READ_TIMEOUT", 60, minimum=0)
DATABASE_WRITE_TIMEOUT = env.env_int("DATABASE_WRITE_TIMEOUT", 30, minimum=0)
DATABASE_BUSY_TIMEOUT = env.env_int("DATABASE_BUSY_TIMEOUT", 20, minimum=1)  # SQLite: wait for the write lock
DATABASES = {
    "default": env.parse_database_url(
        DATABASE_URL,
        base_dir=BASE_DIR,
        timeouts=env.DatabaseTimeouts(
            connect=DATABASE_CONNECT_TIMEOUT,
            read=DATABASE_READ_TIMEOUT,
            write=DATABASE_WRITE_TIMEOUT,
            busy=DATABASE_BUSY_TIMEOUT,
        ),
    )
}
DATABASE_IS_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")
# A read replica (cradle_site.replica): the statistics pages, CSV exports and the admin's log
# lists read from it; it is skipped while down, lagging more than the setting, or for
# DATABASE_REPLICA_PIN_SECONDS after the visitor wrote something.
DATABASE_REPLICA_URL = env.env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.parse_database_url(
        DATABASE_REPLICA_URL,
        base_dir=BASE_DIR,
        timeouts=env.DatabaseTimeouts(
            connect=DATABASE_CONNECT_TIMEOUT,
            read=DATABASE_READ_TIMEOUT,
            write=DATABASE_WRITE_TIMEOUT,
            busy=DATABASE_BUSY_TIMEOUT,
        ),
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["cradle_site.replica.ReplicaRouter"]
DATABASE_REPLICA_MAX_LAG_SECONDS = env.env_int("DATABASE_REPLICA_MAX_LAG_SECONDS", 10, minimum=0)
DATABASE_REPLICA_PIN_SECONDS = env.env_int("DATABASE_REPLICA_PIN_SECONDS", 30, minimum=0)
DATABASE_REPLICA_CHECK_SECONDS = env.env_int("DATABASE_REPLICA_CHECK_SECONDS", 5, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Look-up by the NFKC + case-folded name (accounts.identity): ｄａｖｅ is dave, not a stranger.
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameKeyBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n / time -------------------------------------------------------------
LANGUAGE_CODE = "en"
# Each language named in itself, in every picker (the header, the profile, the back office).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
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

# --- caches (a shared one when there is more than one process; rate limits, see below) --
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
EMAIL_PORT = env.env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env.env_str("DEFAULT_FROM_EMAIL", "Cradle <cradle@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Staff who get the alarms (a delivery refused for good or not sent in time): comma-separated
# addresses, "Name <a@b>" or "a@b". Django's mail_admins sends to them.
ADMINS = env.admins("ADMINS")

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
    "label": _("Jobs"),  # the back office's name for django-q2's app
}
if Q_REDIS_URL:
    Q_CLUSTER["redis"] = Q_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("Q_RETRY must be larger than Q_TIMEOUT")

# /healthz gives its details (which job ran when, what needs staff) to "Authorization: Bearer
# <this>" or a staff session; everyone else gets "ok" or "fail". Empty: staff sessions only.
HEALTHZ_TOKEN = env.env_str("HEALTHZ_TOKEN", "")
# Heartbeat: the cluster is "stale" when no sweep ran within this many seconds.
CRADLE_HEARTBEAT_STALE_SECONDS = env.env_int("CRADLE_HEARTBEAT_STALE_SECONDS", 300, minimum=60)

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.HasScope"],
    # JSON only (no browsable HTML API: the docs are at /api/docs/); a write's answer to a key
    # without the read scope is cut to the id and state (accounts.api_auth.ScopedJSONRenderer).
    "DEFAULT_RENDERER_CLASSES": ["accounts.api_auth.ScopedJSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "cradle_site.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "cradle_site.throttles.AnonRateThrottle",
        "cradle_site.throttles.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.env_rate("API_THROTTLE_ANON", "60/min"),
        "user": env.env_rate("API_THROTTLE_USER", "1200/min"),
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
    # Several serializers have a "status" of a different vocabulary; name the task's one so the schema is stable.
    "ENUM_NAME_OVERRIDES": {
        "TaskStatusEnum": "publishing.models.PublishingTask.Status",
        # A message's "state" keeps the name it had before access requests had a "state" too.
        "StateEnum": "messaging.models.Message.State",
        "AccessRequestStateEnum": "messaging.trusted_models.AccessRequest.State",
        # A Mastodon account's default visibility and a post's visibility are one vocabulary.
        "VisibilityEnum": "publishing.account_models.NetworkAccount.Visibility",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cradle_site.api.error_responses_hook",
    ],
    # Swagger UI from our own static files: the docs work with no internet (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# API key last_used is written at most this often per key, not on every request.
API_KEY_LAST_USED_RESOLUTION = timedelta(minutes=5)

# --- rate limits (cradle_site.ratelimit): (attempts, window seconds) -------------------
# Counters live in the database unless CACHE_REDIS_URL is set (then Redis), so every web
# process and machine shares one count.
RATE_LIMIT_STORE = env.env_choice("RATE_LIMIT_STORE", "redis" if CACHE_REDIS_URL else "database", ["database", "redis"])
if RATE_LIMIT_STORE == "redis" and not CACHE_REDIS_URL:
    raise ImproperlyConfigured("RATE_LIMIT_STORE=redis needs CACHE_REDIS_URL")
# Log-in failures: per address and account name, per address (any name), and per account name
# from anywhere (a browser with the account's known-device cookie skips the last one, so an
# attacker elsewhere cannot lock the owner out).
RATE_LIMIT_LOGIN = (env.env_int("RATE_LIMIT_LOGIN_ATTEMPTS", 5, minimum=1), 900)
RATE_LIMIT_LOGIN_ADDRESS = (env.env_int("RATE_LIMIT_LOGIN_ADDRESS_ATTEMPTS", 20, minimum=1), 900)
RATE_LIMIT_LOGIN_ACCOUNT = (env.env_int("RATE_LIMIT_LOGIN_ACCOUNT_ATTEMPTS", 20, minimum=1), 900)
# Password-reset requests: per address and per e-mail address asked for (each may send a mail).
RATE_LIMIT_PASSWORD_RESET_ADDRESS = (env.env_int("RATE_LIMIT_PASSWORD_RESET_ADDRESS", 10, minimum=1), 3600)
RATE_LIMIT_PASSWORD_RESET_EMAIL = (env.env_int("RATE_LIMIT_PASSWORD_RESET_EMAIL", 3, minimum=1), 3600)
RATE_LIMIT_SIGNUP = (env.env_int("RATE_LIMIT_SIGNUP_ATTEMPTS", 10, minimum=1), 3600)
# Sign-up e-mails (a confirm link, or "you already have an account") per e-mail address typed.
RATE_LIMIT_SIGNUP_EMAIL = (env.env_int("RATE_LIMIT_SIGNUP_EMAIL", 3, minimum=1), 3600)
# How long a sign-up's confirm link works (accounts.signup).
SIGNUP_LINK_MAX_AGE_HOURS = env.env_int("SIGNUP_LINK_MAX_AGE_HOURS", 48, minimum=1)
RATE_LIMIT_CHECKIN = (env.env_int("RATE_LIMIT_CHECKIN_ATTEMPTS", 20, minimum=1), 300)
RATE_LIMIT_REVOKE = (env.env_int("RATE_LIMIT_REVOKE_ATTEMPTS", 10, minimum=1), 300)
# Unknown delivery-page tokens per address (messaging.delivery_views): 256-bit tokens cannot be
# guessed, this keeps a scanner from trying.
RATE_LIMIT_DELIVERY_LINK = (env.env_int("RATE_LIMIT_DELIVERY_LINK_ATTEMPTS", 20, minimum=1), 300)
# The personal check-in URL (messaging.ping): unknown tokens per address, and check-ins per
# owner (a phone shortcut or a script answers a few times a day; a runaway loop is cut off).
RATE_LIMIT_PING_FAILURES = (env.env_int("RATE_LIMIT_PING_FAILURES", 20, minimum=1), 300)
RATE_LIMIT_PING_OWNER = (env.env_int("RATE_LIMIT_PING_PER_OWNER", 10, minimum=1), 300)
# Failed API-key authentications per address; then 429 with Retry-After.
RATE_LIMIT_API_KEY_FAILURES = (env.env_int("RATE_LIMIT_API_KEY_FAILURES", 20, minimum=1), 300)
# The "known device" cookie a successful log-in leaves (signed, per user, HttpOnly).
LOGIN_KNOWN_DEVICE_DAYS = env.env_int("LOGIN_KNOWN_DEVICE_DAYS", 365, minimum=1)
# Verification e-mails (sign-up's, "send the link again") and e-mail change requests per account.
RATE_LIMIT_EMAIL_VERIFY = (env.env_int("RATE_LIMIT_EMAIL_VERIFY", 3, minimum=1), 3600)
RATE_LIMIT_EMAIL_CHANGE = (env.env_int("RATE_LIMIT_EMAIL_CHANGE", 5, minimum=1), 3600)
# How long a link to verify an address or confirm a new one stays valid.
ACCOUNT_EMAIL_LINK_DAYS = env.env_int("ACCOUNT_EMAIL_LINK_DAYS", 3, minimum=1)
# Second-factor codes (the log-in's second step and re-authentication): per account, per address.
# Owner contacts (messaging.owner_contacts): code guesses per contact, codes sent per contact.
RATE_LIMIT_CONTACT_VERIFY = (env.env_int("RATE_LIMIT_CONTACT_VERIFY", 5, minimum=1), 900)
RATE_LIMIT_CONTACT_CODE = (env.env_int("RATE_LIMIT_CONTACT_CODE", 5, minimum=1), 3600)
# "Send me a test warning" per owner and hour: each one reaches every contact (texts cost money).
RATE_LIMIT_TEST_WARNING = (env.env_int("RATE_LIMIT_TEST_WARNING", 5, minimum=1), 3600)
RATE_LIMIT_MFA_ACCOUNT = (env.env_int("RATE_LIMIT_MFA_ACCOUNT_ATTEMPTS", 10, minimum=1), 900)
RATE_LIMIT_MFA_ADDRESS = (env.env_int("RATE_LIMIT_MFA_ADDRESS_ATTEMPTS", 30, minimum=1), 900)

# --- two-factor and re-authentication (accounts.mfa, accounts.reauth) --------------------
# How long a right password waits for its second factor before the log-in starts over.
MFA_PENDING_SECONDS = env.env_int("MFA_PENDING_SECONDS", 300, minimum=30, maximum=3600)
# Sensitive changes ask for the password (or a second factor) again past this age of the last one.
REAUTH_WINDOW_SECONDS = env.env_int("REAUTH_WINDOW_SECONDS", 600, minimum=30)
# WebAuthn relying party: the host passkeys are bound to (default: SITE_URL's host) and the
# origin the browser must report (SITE_URL's scheme, host and port).
WEBAUTHN_RP_ID = env.env_str("WEBAUTHN_RP_ID", "")
WEBAUTHN_RP_NAME = "Cradle"
OTP_TOTP_ISSUER = "Cradle"
# django-otp's own back-off after a wrong code is off: cradle_site.ratelimit counts the
# attempts (one home for "how often may anyone try", shared by every process).
OTP_TOTP_THROTTLE_FACTOR = 0

# --- client addresses behind proxies (cradle_site.ratelimit.client_ip) ------------------
# How many proxies of ours stand in front of the site (each appends to X-Forwarded-For),
# and/or the networks they live in. With neither, X-Forwarded-For is never read.
TRUSTED_PROXY_COUNT = env.env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
TRUSTED_PROXY_NETWORKS = env.env_networks("TRUSTED_PROXY_NETWORKS")

# --- security (production) ---------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles only from our own static files, so
# an injected <script> or on* attribute does not run. No page needs inline script or style:
# the Swagger UI page loads its start-up script from its own URL (SpectacularSwaggerSplitView)
# and its styles from a static file. img-src allows data: for the icons Swagger UI inlines;
# the charts are inline SVG in the page, not images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
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
    "root": {
        "handlers": ["console"],
        "level": env.env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
    },
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # boto3 (ops.offsite) says "Found credentials in environment variables" at INFO on every
        # client: noise in each backup's output. Its warnings and errors still show.
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
        "s3transfer": {"level": "WARNING"},
        # Not Django's default "mail_admins" handler: ADMINS gets the staff alarms
        # (messaging.alarms), and Django would also mail every 5xx - /healthz's 503 each time
        # a monitor asks. Errors go to the log, like everything else.
        "django": {"handlers": [], "propagate": True},
    },
}

# --- messaging (the escalation ladder, delivery channels) -------------------------
# (messaging settings go here)


def _ladder_days(name: str, default: list[int]) -> list[int]:
    raw = env.env_list(name, [str(d) for d in default])
    try:
        days = [int(d) for d in raw]
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be five whole numbers of days, e.g. 30,30,7,1,1") from None
    if len(days) != 5 or any(d < 1 for d in days):
        raise ImproperlyConfigured(f"{name} must be five positive numbers of days, e.g. 30,30,7,1,1")
    return days


# D = initial_delay_months x this; the seed counts a month as 30 days.
MESSAGING_DAYS_PER_MONTH = env.env_int("MESSAGING_DAYS_PER_MONTH", 30, minimum=1)
# Days after warning 1, 2, 3, 4 and 5 (the last one: until delivery). The seed: 30,30,7,1,1.
MESSAGING_LADDER_DAYS = _ladder_days("MESSAGING_LADDER_DAYS", [30, 30, 7, 1, 1])
MESSAGING_MAX_DELAY_MONTHS = env.env_int("MESSAGING_MAX_DELAY_MONTHS", 120, minimum=1)
MESSAGING_SWEEP_BATCH_SIZE = env.env_int("MESSAGING_SWEEP_BATCH_SIZE", 2000, minimum=1)
# How long a check-in link from a warning e-mail stays valid.
MESSAGING_CHECKIN_MAX_AGE_DAYS = env.env_int("MESSAGING_CHECKIN_MAX_AGE_DAYS", 60, minimum=1)
# Retries (deliveries, warnings, staff alarms): attempt n waits base x 2^(n-1) seconds, capped.
# None is given up: a transient failure is retried until it passes, a permanent one waits for staff.
MESSAGING_RETRY_BASE_SECONDS = env.env_int("MESSAGING_RETRY_BASE_SECONDS", 60, minimum=1)
MESSAGING_RETRY_MAX_SECONDS = env.env_int("MESSAGING_RETRY_MAX_SECONDS", 6 * 3600, minimum=1)
# A log-in or an API call resets the messages that opted in at most once per this many
# minutes (messaging.activity): a client polling the API does not write a history row per request.
MESSAGING_ACTIVITY_RESET_MINUTES = env.env_int("MESSAGING_ACTIVITY_RESET_MINUTES", 60, minimum=1)
# A pause ("away until ...", messaging.pauses) may end at most this many days ahead.
MESSAGING_PAUSE_MAX_DAYS = env.env_int("MESSAGING_PAUSE_MAX_DAYS", 90, minimum=1)
# The one pause a trusted contact may start for the owner (messaging.trusted), at most the above.
MESSAGING_TRUSTED_PAUSE_DAYS = env.env_int("MESSAGING_TRUSTED_PAUSE_DAYS", 14, minimum=1)
if MESSAGING_TRUSTED_PAUSE_DAYS > MESSAGING_PAUSE_MAX_DAYS:
    raise ImproperlyConfigured("MESSAGING_TRUSTED_PAUSE_DAYS must be at most MESSAGING_PAUSE_MAX_DAYS")
# Every contact of an owner refused the same warning for good for this long: the step counts
# as sent, staff are alerted (messaging.escalation). Transient failures never count.
MESSAGING_UNREACHABLE_GRACE_DAYS = env.env_int("MESSAGING_UNREACHABLE_GRACE_DAYS", 7, minimum=1)
# How long an owner contact's verification code works (messaging.owner_contacts).
MESSAGING_CONTACT_CODE_MINUTES = env.env_int("MESSAGING_CONTACT_CODE_MINUTES", 30, minimum=1)
MESSAGING_SEND_LEASE_SECONDS = env.env_int("MESSAGING_SEND_LEASE_SECONDS", 600, minimum=30)
# How long a reset waits for a warning e-mail that is being sent at that moment before it says
# "try again" (messaging.services.message_reset): the send must finish before the reset saves.
MESSAGING_ANSWER_WAIT_SECONDS = env.env_int("MESSAGING_ANSWER_WAIT_SECONDS", 5, minimum=0)
# A delivery not sent this long after it started raises the staff alarm (/healthz?strict=1, admin, ADMINS).
MESSAGING_DELIVERY_ALARM_HOURS = env.env_int("MESSAGING_DELIVERY_ALARM_HOURS", 24, minimum=1)
MESSAGING_WEBHOOK_TIMEOUT = env.env_int("MESSAGING_WEBHOOK_TIMEOUT", 10, minimum=1)
# A send job (deliveries, warnings, notices) stops starting sends after this many seconds and
# gives back what it claimed, so it ends well inside the job timeout and is never killed mid-send.
MESSAGING_SEND_RUN_SECONDS = env.env_int(
    "MESSAGING_SEND_RUN_SECONDS", max(1, min(120, Q_CLUSTER["timeout"] // 3)), minimum=1
)
# After a send, the write that records it is retried this long while the database is away
# (a restart), so a short outage does not make the next worker send it again.
MESSAGING_BOOKKEEPING_RETRY_SECONDS = env.env_int(
    "MESSAGING_BOOKKEEPING_RETRY_SECONDS", min(60, Q_CLUSTER["timeout"] // 4), minimum=0
)
# No site-wide webhook secret: each webhook recipient has its own (cradle_site.webhooks),
# so a recipient given its secret cannot forge deliveries to the others.
# SMS: dotted path to a gateway class (see messaging.channels.SmsGateway); empty = SMS refused.
MESSAGING_SMS_GATEWAY = env.env_str("MESSAGING_SMS_GATEWAY", "")
# Telegram warnings (messaging.telegram): the bot's token and name (for the t.me deep link),
# the Bot API's base URL, and the secret path of the webhook Telegram calls with updates.
TELEGRAM_BOT_TOKEN = env.env_str("TELEGRAM_BOT_TOKEN", "")
TELEGRAM_BOT_NAME = env.env_str("TELEGRAM_BOT_NAME", "")
TELEGRAM_API_URL = env.env_str("TELEGRAM_API_URL", "https://api.telegram.org")
TELEGRAM_WEBHOOK_SECRET = env.env_str("TELEGRAM_WEBHOOK_SECRET", "")
MESSAGING_SMS_GATEWAY_OPTIONS = {
    "url": env.env_str("MESSAGING_SMS_GATEWAY_URL", ""),
    "token": env.env_str("MESSAGING_SMS_GATEWAY_TOKEN", ""),
}
# The recipients' delivery page (messaging.delivery_links): a link works this many days after
# it was sent; the recipient can ask for a new one (to their own address) at most once per
# MESSAGING_DELIVERY_LINK_RENEW_MINUTES.
MESSAGING_DELIVERY_LINK_DAYS = env.env_int("MESSAGING_DELIVERY_LINK_DAYS", 90, minimum=1)
MESSAGING_DELIVERY_LINK_RENEW_MINUTES = env.env_int("MESSAGING_DELIVERY_LINK_RENEW_MINUTES", 10, minimum=0)
# "You are named" notices (messaging.named): the owner may send a recipient's notice again at
# most once per MESSAGING_NAMED_RESEND_MINUTES.
MESSAGING_NAMED_RESEND_MINUTES = env.env_int("MESSAGING_NAMED_RESEND_MINUTES", 60, minimum=0)
# Attachments (messaging.attachments): the limit per file and per message, in megabytes.
MESSAGING_ATTACHMENT_MAX_MB = env.env_int("MESSAGING_ATTACHMENT_MAX_MB", 25, minimum=1)
MESSAGING_ATTACHMENTS_MAX_MB = env.env_int("MESSAGING_ATTACHMENTS_MAX_MB", 100, minimum=1)
# Where their encrypted bytes go (messaging.attachment_storage): var/attachments, or an
# S3-compatible bucket when a bucket is named.
MESSAGING_ATTACHMENT_DIR = Path(env.env_str("MESSAGING_ATTACHMENT_DIR", str(VAR_DIR / "attachments")))
MESSAGING_ATTACHMENT_S3_BUCKET = env.env_str("MESSAGING_ATTACHMENT_S3_BUCKET", "")


def attachment_storage(bucket: str, **s3: str | None) -> dict:
    """The ``attachments`` entry of STORAGES: the local folder, or the bucket when one is named.

    ``s3``: ``endpoint_url``, ``region_name``, ``access_key``, ``secret_key`` (None: boto3's own
    lookup, e.g. an instance role). Uploads go in 8 MiB parts, at most two in memory at once:
    boto3's default (ten parts in flight) would hold 80 MiB of a file in memory.
    """
    if not bucket:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(MESSAGING_ATTACHMENT_DIR), "base_url": None},
        }
    from boto3.s3.transfer import TransferConfig

    transfer = TransferConfig(multipart_chunksize=8 * 1024 * 1024, max_concurrency=2)
    transfer.max_in_memory_upload_chunks = 2  # s3transfer's own setting; boto3's constructor does not take it
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            **s3,
            "location": "attachments",
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
            "transfer_config": transfer,
        },
    }


STORAGES["attachments"] = attachment_storage(
    MESSAGING_ATTACHMENT_S3_BUCKET,
    endpoint_url=env.env_str("MESSAGING_ATTACHMENT_S3_ENDPOINT_URL", "") or None,
    region_name=env.env_str("MESSAGING_ATTACHMENT_S3_REGION", "") or None,
    access_key=env.env_str("MESSAGING_ATTACHMENT_S3_ACCESS_KEY", "") or None,
    secret_key=env.env_str("MESSAGING_ATTACHMENT_S3_SECRET_KEY", "") or None,
)

# --- publishing (sources, queue, X) ------------------------------------------------
# Local folder sources must live under one of these roots, so a user cannot point a
# source (or an API task) at /etc and have the server read and post its files.
PUBLISHING_LOCAL_ROOTS = [
    Path(p).resolve()
    for p in env.env_list("PUBLISHING_LOCAL_ROOTS", [str(VAR_DIR / "media"), str(VAR_DIR / "demo_media")])
]
# Where X and Google Drive live; tests and staging point these at local doubles.
PUBLISHING_X_BASE_URL = env.env_str("PUBLISHING_X_BASE_URL", "").rstrip("/")  # "" = the real X hosts
PUBLISHING_GOOGLE_DRIVE_BASE_URL = env.env_str("PUBLISHING_GOOGLE_DRIVE_BASE_URL", "https://www.googleapis.com").rstrip(
    "/"
)
# The operator's own Drive credential: used only for projects staff mark as the operator's
# (Project.uses_operator_drive, editable in the admin alone), never for a user's project.
PUBLISHING_GOOGLE_DRIVE_CREDENTIAL = env.env_str("PUBLISHING_GOOGLE_DRIVE_CREDENTIAL", "")
# Each project connects its own Drive account by OAuth 2.0 (publishing.drive_oauth): the
# OAuth client of this site, registered with SITE_URL/publishing/drive/callback/ as redirect URI.
PUBLISHING_GOOGLE_OAUTH_CLIENT_ID = env.env_str("PUBLISHING_GOOGLE_OAUTH_CLIENT_ID", "")
PUBLISHING_GOOGLE_OAUTH_CLIENT_SECRET = env.env_str("PUBLISHING_GOOGLE_OAUTH_CLIENT_SECRET", "")
PUBLISHING_GOOGLE_OAUTH_AUTHORIZE_URL = env.env_str(
    "PUBLISHING_GOOGLE_OAUTH_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth"
)
PUBLISHING_GOOGLE_OAUTH_TOKEN_URL = env.env_str(
    "PUBLISHING_GOOGLE_OAUTH_TOKEN_URL", "https://oauth2.googleapis.com/token"
)
PUBLISHING_GOOGLE_OAUTH_REVOKE_URL = env.env_str(
    "PUBLISHING_GOOGLE_OAUTH_REVOKE_URL", "https://oauth2.googleapis.com/revoke"
)
# Connecting X by OAuth 2.0 (publishing.x_oauth): this site's X app, a confidential client
# registered with SITE_URL/publishing/x/callback/ as its callback. Without it, owners paste
# the four OAuth 1.0a keys instead. The token and revoke URLs are on api.x.com, so
# PUBLISHING_X_BASE_URL moves them to a double with the rest of X.
PUBLISHING_X_OAUTH_CLIENT_ID = env.env_str("PUBLISHING_X_OAUTH_CLIENT_ID", "")
PUBLISHING_X_OAUTH_CLIENT_SECRET = env.env_str("PUBLISHING_X_OAUTH_CLIENT_SECRET", "")
PUBLISHING_X_OAUTH_AUTHORIZE_URL = env.env_str("PUBLISHING_X_OAUTH_AUTHORIZE_URL", "https://x.com/i/oauth2/authorize")
# Bluesky accounts log in and post through this PDS (issue 19); a DID document's own address is never used.
PUBLISHING_BLUESKY_PDS_URL = env.env_str("PUBLISHING_BLUESKY_PDS_URL", "https://bsky.social").rstrip("/")
# Staging and benchmarks: the Mastodon and Bluesky copies are finished by the dry-run
# publisher (logged, never sent), claimed and recorded in big batches as X's dry run is.
PUBLISHING_NETWORK_DRY_RUN = env.env_bool("PUBLISHING_NETWORK_DRY_RUN", False)
PUBLISHING_HTTP_TIMEOUT = env.env_int("PUBLISHING_HTTP_TIMEOUT", 30, minimum=1)
# A claimed task is taken back from a silent worker after this long.
PUBLISHING_LEASE_SECONDS = env.env_int("PUBLISHING_LEASE_SECONDS", 300, minimum=10)
# Dry-run tasks are cheap and finished set-based; live tasks each wait on X, so a live
# batch stays small enough to finish well inside the lease.
PUBLISHING_BATCH_SIZE = env.env_int("PUBLISHING_BATCH_SIZE", 500, minimum=1)
PUBLISHING_LIVE_BATCH_SIZE = env.env_int("PUBLISHING_LIVE_BATCH_SIZE", 10, minimum=1)
# One publish job stops claiming after this many seconds (the schedule runs every minute).
PUBLISHING_RUN_SECONDS = env.env_int("PUBLISHING_RUN_SECONDS", 50, minimum=1)
# Network errors and 5xx: retried after BASE * 2**(n-1) seconds (capped) up to MAX times.
PUBLISHING_MAX_RETRIES = env.env_int("PUBLISHING_MAX_RETRIES", 5, minimum=0)
PUBLISHING_RETRY_BASE_SECONDS = env.env_int("PUBLISHING_RETRY_BASE_SECONDS", 60, minimum=1)
PUBLISHING_RETRY_MAX_SECONDS = env.env_int("PUBLISHING_RETRY_MAX_SECONDS", 3600, minimum=1)
# Video processing on X: give up polling processing_info after this long.
PUBLISHING_MEDIA_PROCESSING_TIMEOUT = env.env_int("PUBLISHING_MEDIA_PROCESSING_TIMEOUT", 300, minimum=1)
PUBLISHING_SCAN_MINUTES = env.env_int("PUBLISHING_SCAN_MINUTES", 15, minimum=1)
# One source's scan stops after this long (publishing.scan_runs); one scan job claims no new
# source after PUBLISHING_SCAN_RUN_SECONDS. A source's claim outlives its deadline.
PUBLISHING_SCAN_DEADLINE_SECONDS = env.env_int("PUBLISHING_SCAN_DEADLINE_SECONDS", 120, minimum=1)
PUBLISHING_SCAN_RUN_SECONDS = env.env_int("PUBLISHING_SCAN_RUN_SECONDS", 50, minimum=1)
PUBLISHING_SCAN_LEASE_SECONDS = PUBLISHING_SCAN_DEADLINE_SECONDS + 2 * PUBLISHING_HTTP_TIMEOUT + 60
# Feeds, enclosures and webhooks may not point inside the server's network (cradle_site.outbound);
# set this only to develop against local services.
OUTBOUND_ALLOW_PRIVATE = env.env_bool("OUTBOUND_ALLOW_PRIVATE", False)
# host:port services of the operator's inside the network that the operator's own endpoints
# (the SMS gateway, the Drive base URL) may reach; a URL a user gives never may.
OUTBOUND_ALLOWED_HOSTS = env.host_ports("OUTBOUND_ALLOWED_HOSTS")
# Remote media (Drive files, feed enclosures) larger than this is refused; X takes video up to 512 MB.
PUBLISHING_MEDIA_MAX_BYTES = env.env_int("PUBLISHING_MEDIA_MAX_BYTES", 512 * 1024 * 1024, minimum=1)
# A download of remote media ends after this many seconds, however the bytes trickle in.
PUBLISHING_MEDIA_READ_SECONDS = env.env_int("PUBLISHING_MEDIA_READ_SECONDS", 240, minimum=1)
# A feed (or a page of a Drive listing) larger than this is refused; it is read into memory.
PUBLISHING_FEED_MAX_BYTES = env.env_int("PUBLISHING_FEED_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
# Reading a feed (or a Drive listing page) ends after this many seconds: connect, redirects and body.
PUBLISHING_FEED_READ_SECONDS = env.env_int("PUBLISHING_FEED_READ_SECONDS", 15, minimum=1)
# Alerts to a project's owner (publishing.alerts): the queue "runs dry" when its pending posts
# cover fewer than this many hours of the project's slots; a source "keeps failing" after this
# many scans in a row failed. Sends are claimed with a lease and retried at the back-off.
PUBLISHING_ALERT_DRY_HOURS = env.env_int("PUBLISHING_ALERT_DRY_HOURS", 24, minimum=1)
PUBLISHING_ALERT_SOURCE_FAILURES = env.env_int("PUBLISHING_ALERT_SOURCE_FAILURES", 3, minimum=1)
PUBLISHING_ALERT_LEASE_SECONDS = env.env_int("PUBLISHING_ALERT_LEASE_SECONDS", 120, minimum=10)

# --- analytics (aggregation) ---------------------------------------------------------
# The hourly job recomputes this many past hours so logs written late still count.
ANALYTICS_RECOMPUTE_HOURS = env.env_int("ANALYTICS_RECOMPUTE_HOURS", 6, minimum=1)
# Longest range a chart page or API series may ask for (days); keeps responses bounded.
ANALYTICS_MAX_RANGE_DAYS = env.env_int("ANALYTICS_MAX_RANGE_DAYS", 366, minimum=1)

# --- operations (ops/: backups, purge) ------------------------------------------------
# Encrypted backups (manage.py db_backup): where they go and how many are kept.
BACKUP_DIR = Path(env.env_str("BACKUP_DIR", str(VAR_DIR / "backups")))
BACKUP_KEEP = env.env_int("BACKUP_KEEP", 14, minimum=1)
BACKUP_ENABLED = env.env_bool("BACKUP_ENABLED", True)
# Off-site copies (ops.offsite): s3://bucket/prefix; credentials and region from the usual
# AWS_* variables; BACKUP_S3_ENDPOINT_URL for a store other than AWS (MinIO, R2, B2, ...).
BACKUP_S3_URL = env.env_str("BACKUP_S3_URL", "")
if BACKUP_S3_URL and not re.fullmatch(r"s3://[^/]+(/.*)?", BACKUP_S3_URL):
    raise ImproperlyConfigured(f"BACKUP_S3_URL must look like s3://bucket/prefix, got {BACKUP_S3_URL!r}")
BACKUP_S3_ENDPOINT_URL = env.env_str("BACKUP_S3_ENDPOINT_URL", "")
# Remote retention, grandfather-father-son: the newest backup of each of so many days, weeks, months.
BACKUP_KEEP_DAILY = env.env_int("BACKUP_KEEP_DAILY", 14, minimum=1)
BACKUP_KEEP_WEEKLY = env.env_int("BACKUP_KEEP_WEEKLY", 8, minimum=0)
BACKUP_KEEP_MONTHLY = env.env_int("BACKUP_KEEP_MONTHLY", 12, minimum=0)
# SQLite: an online backup every hour besides the daily one (it has no binary log to replay).
BACKUP_HOURLY_SQLITE = env.env_bool("BACKUP_HOURLY_SQLITE", True)
# MariaDB point-in-time recovery (ops.binlog): closed binary logs are archived this often.
BINLOG_DIR = Path(env.env_str("BINLOG_DIR", str(BACKUP_DIR / "binlogs")))
BINLOG_ARCHIVE_MINUTES = env.env_int("BINLOG_ARCHIVE_MINUTES", 5, minimum=1)
# /healthz?strict=1 pages when the newest backup, binlog archive or restore drill is older than this.
BACKUP_MAX_AGE_HOURS = env.env_int("BACKUP_MAX_AGE_HOURS", 26, minimum=1)
BINLOG_MAX_AGE_MINUTES = env.env_int("BINLOG_MAX_AGE_MINUTES", 30, minimum=1)
RESTORE_DRILL_MAX_AGE_DAYS = env.env_int("RESTORE_DRILL_MAX_AGE_DAYS", 8, minimum=1)
# Off where the host backs up itself (then BACKUP_ENABLED is usually off too).
BACKUP_HEALTH_CHECKS = env.env_bool("BACKUP_HEALTH_CHECKS", True)
# purge_logs: rows older than this many days go; small batches keep each transaction short.
PURGE_LOGS_DAYS = env.env_int("PURGE_LOGS_DAYS", 180, minimum=1)
# The audit log (ops.AuditEvent) is kept this long, then only `purge_logs --table=audit` removes it.
AUDIT_RETENTION_DAYS = env.env_int("AUDIT_RETENTION_DAYS", 730, minimum=1)
PURGE_BATCH_SIZE = env.env_int("PURGE_BATCH_SIZE", 5000, minimum=1)
PURGE_ENABLED = env.env_bool("PURGE_ENABLED", True)
