"""Cross-setting rules refuse to start (system checks cradle.E001...), each with a hint."""

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def cradle_errors() -> dict[str, str]:
    return {e.id: e.msg for e in run_checks() if e.id.startswith("cradle.") and e.hint}


@pytest.fixture(autouse=True)
def admins(settings):
    """Tests run with DEBUG off: without ADMINS every test here would also see cradle.W001."""
    settings.ADMINS = [("Ops", "ops@example.com")]


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SITE_URL = "https://cradle.example.com"
    settings.ALLOWED_HOSTS = ["cradle.example.com"]
    return settings


def test_it_passes_production_settings(production):
    assert cradle_errors() == {}


def test_production_needs_a_site_url(production):
    production.SITE_URL = ""
    assert cradle_errors() == {"cradle.E001": "SITE_URL is not set."}
    with pytest.raises(SystemCheckError, match=r"cradle\.E001"):
        call_command("check")


@pytest.mark.parametrize("site_url", ["cradle.example.com", "ftp://cradle.example.com", "https://"])
def test_it_refuses_a_site_url_that_is_not_an_address(production, site_url):
    production.SITE_URL = site_url
    assert set(cradle_errors()) == {"cradle.E002"}


@pytest.mark.parametrize(
    "site_url, allowed_hosts",
    [
        ("https://cradle.example.com", ["cradle.example.com"]),
        ("https://cradle.example.com:8443", ["cradle.example.com"]),
        ("https://CRADLE.example.com", ["cradle.example.com"]),
        ("https://cradle.example.com", [".example.com"]),
        ("https://example.com", [".example.com"]),
        ("https://cradle.example.com", ["*"]),
        ("http://[::1]:8000", ["[::1]"]),
    ],
)
def test_site_url_host_matches_allowed_hosts_as_django_does(production, site_url, allowed_hosts):
    production.SITE_URL, production.ALLOWED_HOSTS = site_url, allowed_hosts
    assert cradle_errors() == {}


@pytest.mark.parametrize(
    "site_url, allowed_hosts",
    [
        ("https://cradle.example.com", ["other.example.com"]),
        ("https://cradle.example.com", ["example.com"]),
        ("https://cradle.example.com.evil.test", [".example.com"]),
        ("https://cradle.example.com", []),
    ],
)
def test_it_refuses_a_site_url_the_site_would_not_answer(production, site_url, allowed_hosts):
    production.SITE_URL, production.ALLOWED_HOSTS = site_url, allowed_hosts
    assert set(cradle_errors()) == {"cradle.E003"}


def test_site_url_host_is_not_checked_in_development(settings):
    settings.DEBUG, settings.SITE_URL, settings.ALLOWED_HOSTS = True, "http://127.0.0.1:8331", []
    assert cradle_errors() == {}


class NoSend:
    pass


def test_the_sms_gateway_must_import_at_start_up(settings):
    settings.MESSAGING_SMS_GATEWAY = "messaging.channels.HttpSmsGatewy"
    errors = cradle_errors()
    assert set(errors) == {"cradle.E004"}
    assert "'messaging.channels.HttpSmsGatewy' does not import" in errors["cradle.E004"]
    settings.MESSAGING_SMS_GATEWAY = "tests.site.test_checks.NoSend"
    assert set(cradle_errors()) == {"cradle.E005"}
    settings.MESSAGING_SMS_GATEWAY = "messaging.channels.HttpSmsGateway"
    assert cradle_errors() == {}
    settings.MESSAGING_SMS_GATEWAY = ""  # SMS off
    assert cradle_errors() == {}


def test_it_refuses_tls_and_ssl_together(settings):
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = True
    assert set(cradle_errors()) == {"cradle.E006"}
    settings.EMAIL_USE_TLS = False
    assert cradle_errors() == {}


@pytest.mark.parametrize("prefix, check_id", [("MESSAGING_RETRY", "cradle.E007"), ("PUBLISHING_RETRY", "cradle.E008")])
def test_it_refuses_a_retry_cap_below_its_base(settings, prefix, check_id):
    setattr(settings, f"{prefix}_BASE_SECONDS", 600)
    setattr(settings, f"{prefix}_MAX_SECONDS", 599)
    errors = cradle_errors()
    assert errors == {check_id: f"{prefix}_MAX_SECONDS (599) is below {prefix}_BASE_SECONDS (600)."}
    setattr(settings, f"{prefix}_MAX_SECONDS", 600)  # equal: every retry waits the base, which is allowed
    assert cradle_errors() == {}


def test_a_send_job_must_end_inside_the_job_timeout(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 300}
    settings.EMAIL_TIMEOUT, settings.MESSAGING_WEBHOOK_TIMEOUT = 30, 10
    settings.MESSAGING_SEND_RUN_SECONDS, settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS = 100, 60
    assert cradle_errors() == {}
    settings.MESSAGING_SEND_RUN_SECONDS = 210
    assert set(cradle_errors()) == {"cradle.E012"}
    assert "300" in cradle_errors()["cradle.E012"]


def test_production_without_admins_is_warned_that_alarms_reach_no_inbox(production):
    production.ADMINS = []
    assert set(cradle_errors()) == {"cradle.W001"}
    call_command("check")  # a warning: the site still starts
