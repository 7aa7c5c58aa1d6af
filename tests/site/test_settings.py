"""Bad settings stop start-up with one readable line."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # every test starts manage.py


def run_check(**env: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "cradle_site.settings", "DEBUG": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=60
    )


def test_it_refuses_a_malformed_database_url():
    result = run_check(DATABASE_URL="postgresql//nope")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DATABASE_URL" in result.stderr and "is not understood" in result.stderr


def test_it_refuses_a_mysql_url_without_a_database_name():
    result = run_check(DATABASE_URL="mysql://root:secretpw@127.0.0.1:3306/")
    assert result.returncode == 2
    assert "must name one database" in result.stderr
    assert "secretpw" not in result.stderr  # passwords never reach logs


def test_it_refuses_a_bad_fernet_key():
    result = run_check(FERNET_KEYS="not-a-key")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Configuration error: FERNET_KEYS entry 1 is not a valid Fernet key (32 url-safe base64-encoded bytes)"
    )


def test_it_refuses_a_bad_boolean():
    result = run_check(DEBUG="maybe")
    assert result.returncode == 2
    assert "DEBUG must be a boolean" in result.stderr


def test_it_refuses_a_backup_bucket_that_is_not_an_s3_url():
    result = run_check(BACKUP_S3_URL="https://bucket.example.com/backups")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Configuration error: BACKUP_S3_URL must look like s3://bucket/prefix, got 'https://bucket.example.com/backups'"
    )


def test_production_needs_a_secret_key():
    result = run_check(DEBUG="0")
    assert result.returncode == 2
    assert result.stderr.strip() == "Configuration error: SECRET_KEY must be set"


PRODUCTION = {
    "PATH": "/usr/bin:/bin",
    "DJANGO_SETTINGS_MODULE": "cradle_site.settings",
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "production-secret-key-for-the-deploy-check-0123456789",
    "FERNET_KEYS": "q6mF0p7QyQ3xq3kH3r8v0cVd5m2i3T8S7nq1H6C2y0E=",
    "ALLOWED_HOSTS": ".example.com",
    "SITE_URL": "https://cradle.example.com",
    "ADMINS": "Ops <ops@example.com>,oncall@example.com",
    "TRUSTED_PROXY_COUNT": "1",  # the README's one TLS proxy
}


def run_check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_check_deploy():
    result = run_check_deploy(PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_refuses_production_without_a_site_url_and_with_a_mistyped_gateway():
    env = {key: value for key, value in PRODUCTION.items() if key != "SITE_URL"}
    result = run_check_deploy(env | {"MESSAGING_SMS_GATEWAY": "messaging.channels.HttpSmsGatewy"})
    assert result.returncode == 1
    assert "(cradle.E001) SITE_URL is not set." in result.stderr
    assert "(cradle.E004) MESSAGING_SMS_GATEWAY 'messaging.channels.HttpSmsGatewy' does not import" in result.stderr
    assert "HINT: Set SITE_URL to the site's public address" in result.stderr


def test_it_refuses_a_log_level_a_port_and_a_rate_it_cannot_use():
    for env, words in [
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ({"EMAIL_PORT": "99999999"}, "EMAIL_PORT must be at most 65535"),
        ({"API_THROTTLE_ANON": "lots"}, "API_THROTTLE_ANON must be a rate like 60/min"),
    ]:
        result = run_check(**env)
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert result.stderr.strip().count("\n") == 0
    assert run_check(LOG_LEVEL="warning", API_THROTTLE_USER="10/hour").returncode == 0


def test_it_refuses_an_admins_entry_that_is_not_an_address():
    result = run_check(ADMINS="Ops <ops@example.com>,nobody")
    assert result.returncode == 2
    assert result.stderr.strip() == "Configuration error: ADMINS: 'nobody' is not an e-mail address"
