"""System checks for rules that span settings (``manage.py check``, and every command that runs checks).

One bad value is refused where it is read (``cradle_site.env`` raises ``ImproperlyConfigured``
at import); what only a pair of settings can get wrong, or what needs the apps loaded (an
SMS gateway class to import), is checked here, so ``migrate``, ``qcluster`` and ``runserver``
refuse to start instead of a typo failing on the day a message is delivered. Every rule is an
error with an id (``cradle.E0xx``) and a hint naming the variable to fix.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning
from django.http.request import split_domain_port, validate_host
from django.utils.module_loading import import_string


def check_site_url(app_configs=None, **kwargs) -> list[Error]:
    """Links in e-mails are built from SITE_URL, so production must set it to a host the site answers."""
    site_url = settings.SITE_URL
    if not site_url:
        if settings.DEBUG:
            return []
        return [
            Error(
                "SITE_URL is not set.",
                hint="Set SITE_URL to the site's public address, e.g. https://cradle.example.com; "
                "warning e-mails link to it.",
                id="cradle.E001",
            )
        ]
    parts = urlsplit(site_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return [
            Error(
                f"SITE_URL {site_url!r} is not an absolute http(s) address.",
                hint="Write it with scheme and host, e.g. https://cradle.example.com.",
                id="cradle.E002",
            )
        ]
    host, _port = split_domain_port(parts.netloc.rpartition("@")[2])
    if not settings.DEBUG and not validate_host(host, settings.ALLOWED_HOSTS):
        return [
            Error(
                f"SITE_URL's host {host!r} is not in ALLOWED_HOSTS.",
                hint="Add it to ALLOWED_HOSTS (or fix SITE_URL): every link in a warning e-mail would answer 400.",
                id="cradle.E003",
            )
        ]
    return []


def check_sms_gateway(app_configs=None, **kwargs) -> list[Error]:
    path = settings.MESSAGING_SMS_GATEWAY
    if not path:
        return []  # SMS is off: recipients of that kind are refused
    try:
        gateway = import_string(path)
    except ImportError as exc:
        return [
            Error(
                f"MESSAGING_SMS_GATEWAY {path!r} does not import: {exc}.",
                hint="Give the dotted path of a class with send(to, text), e.g. messaging.channels.HttpSmsGateway, "
                "or leave it empty to turn SMS off.",
                id="cradle.E004",
            )
        ]
    if not callable(getattr(gateway, "send", None)):
        return [
            Error(
                f"MESSAGING_SMS_GATEWAY {path!r} has no send(to, text) method.",
                hint="Point it at a gateway class such as messaging.channels.HttpSmsGateway.",
                id="cradle.E005",
            )
        ]
    return []


def check_email_security(app_configs=None, **kwargs) -> list[Error]:
    if settings.EMAIL_USE_TLS and settings.EMAIL_USE_SSL:
        return [
            Error(
                "EMAIL_USE_TLS and EMAIL_USE_SSL are both on.",
                hint="Use one: EMAIL_USE_SSL for implicit TLS (usually port 465), EMAIL_USE_TLS for STARTTLS "
                "(usually port 587).",
                id="cradle.E006",
            )
        ]
    return []


# (prefix, id): base x 2^(n-1) seconds capped at max; a cap below the base makes every wait the cap.
_RETRY_SETTINGS = [("MESSAGING_RETRY", "cradle.E007"), ("PUBLISHING_RETRY", "cradle.E008")]


def check_retry_bounds(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    for prefix, check_id in _RETRY_SETTINGS:
        base, cap = getattr(settings, f"{prefix}_BASE_SECONDS"), getattr(settings, f"{prefix}_MAX_SECONDS")
        if cap < base:
            errors.append(
                Error(
                    f"{prefix}_MAX_SECONDS ({cap}) is below {prefix}_BASE_SECONDS ({base}).",
                    hint=f"Raise {prefix}_MAX_SECONDS or lower {prefix}_BASE_SECONDS; the first retry waits the base.",
                    id=check_id,
                )
            )
    return errors


def check_send_budget(app_configs=None, **kwargs) -> list[Error]:
    """A send job must end inside django-q's timeout, or the cluster kills it mid-send.

    It starts sends for MESSAGING_SEND_RUN_SECONDS; the last one may then take the longest
    send (SMTP's timeout, or a webhook's connect plus read timeout) and the retried write
    after it MESSAGING_BOOKKEEPING_RETRY_SECONDS.
    """
    run, bookkeeping = settings.MESSAGING_SEND_RUN_SECONDS, settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS
    longest_send = max(settings.EMAIL_TIMEOUT, 2 * settings.MESSAGING_WEBHOOK_TIMEOUT)
    timeout = settings.Q_CLUSTER["timeout"]
    if run + longest_send + bookkeeping < timeout:
        return []
    return [
        Error(
            f"A send job may run {run + longest_send + bookkeeping} s (MESSAGING_SEND_RUN_SECONDS {run} + the longest "
            f"send {longest_send} + MESSAGING_BOOKKEEPING_RETRY_SECONDS {bookkeeping}), not below Q_TIMEOUT ({timeout}).",
            hint="Lower MESSAGING_SEND_RUN_SECONDS or MESSAGING_BOOKKEEPING_RETRY_SECONDS, or raise Q_TIMEOUT "
            "(and Q_RETRY above it); a job killed by the timeout mid-send sends that message again.",
            id="cradle.E012",
        )
    ]


def check_admins(app_configs=None, **kwargs) -> list[Warning]:
    """Without ADMINS a delivery refused for good, or stuck for a day, reaches no one's inbox.

    A warning, not an error: /healthz?strict=1 and the admin still show it.
    """
    if settings.DEBUG or settings.ADMINS:
        return []
    return [
        Warning(
            "ADMINS is empty: no one is e-mailed when a delivery is refused for good or not sent in time.",
            hint="Set ADMINS to the staff addresses, e.g. ADMINS='Ops <ops@example.com>'.",
            id="cradle.W001",
        )
    ]


def check_trusted_proxies(app_configs=None, **kwargs) -> list[Warning]:
    """Behind the TLS proxy the README prescribes, ``REMOTE_ADDR`` is the proxy for everyone.

    Trusting the proxy's ``X-Forwarded-Proto`` (``SECURE_PROXY_SSL_HEADER``) while trusting no
    proxy for addresses means every rate limit counts all clients as one: twenty wrong
    log-ins from anyone would lock everyone out.
    """
    proxied = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxied or settings.TRUSTED_PROXY_COUNT or settings.TRUSTED_PROXY_NETWORKS:
        return []
    return [
        Warning(
            "SECURE_PROXY_SSL_HEADER trusts a proxy, but TRUSTED_PROXY_COUNT is 0 and TRUSTED_PROXY_NETWORKS is empty: "
            "every client gets the proxy's address and shares its rate limits.",
            hint="Set TRUSTED_PROXY_COUNT to the number of proxies in front of the site (1 for one TLS proxy), "
            "or TRUSTED_PROXY_NETWORKS to their networks.",
            id="cradle.W002",
        )
    ]


ALL = [
    check_site_url,
    check_sms_gateway,
    check_email_security,
    check_retry_bounds,
    check_send_budget,
    check_admins,
    check_trusted_proxies,
]
