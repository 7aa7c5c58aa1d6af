"""Shared fixtures: personas (owner, other user, staff), API clients, subprocess helpers, the fast loop's guard."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.api_keys import apikey_create
from accounts.models import User

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    is_mysql = os.environ.get("DATABASE_URL", "").startswith(("mysql", "mariadb"))
    skip = pytest.mark.skip(reason="needs MySQL/MariaDB row locks; run with DATABASE_URL=mysql://...")
    skip_sqlite = pytest.mark.skip(reason="exercises what only SQLite does; this run is on MySQL/MariaDB")
    for item in items:
        if "mariadb_only" in item.keywords and not is_mysql:
            item.add_marker(skip)
        if "sqlite_only" in item.keywords and is_mysql:
            item.add_marker(skip_sqlite)
        if "one_database" in item.keywords and is_mysql:
            item.add_marker(pytest.mark.skip(reason="the same on every database; runs on SQLite"))


@pytest.fixture(autouse=True)
def _no_process_in_the_fast_loop(request, monkeypatch):
    """Under ``bin/test --fast`` a test that starts a process must be marked ``slow``: it fails
    here, naming the mark, instead of quietly slowing the loop (or sharing a port across workers)."""
    if os.environ.get("CRADLE_FAST_TESTS") != "1" or request.node.get_closest_marker("slow"):
        return

    def refuse(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} starts a process: mark it @pytest.mark.slow")

    monkeypatch.setattr(subprocess, "Popen", refuse)


# An UPDATE or DELETE of the audit log (ops.AuditEvent), whatever the quoting of the name.
_AUDIT_WRITE = re.compile(r"^\s*(UPDATE|DELETE\s+FROM)\s+[`\"]?ops_auditevent[`\"]?\s", re.IGNORECASE)


@contextlib.contextmanager
def audit_writes_watched() -> Iterator[list[str]]:
    """Every UPDATE or DELETE of an audit row run inside, on the default connection: the
    list it yields fills up with them, except the purge's (``ops.audit.purging``) and the
    test database's own flush between transactional tests."""
    from ops.audit import purging

    touched: list[str] = []
    flushing = [False]
    operations = type(connection.ops)
    original_flush = operations.execute_sql_flush

    def flush(self, sql_list):
        flushing[0] = True
        try:
            return original_flush(self, sql_list)
        finally:
            flushing[0] = False

    def watch(execute, sql, params, many, context):
        if not flushing[0] and not purging() and _AUDIT_WRITE.match(sql or ""):
            touched.append(sql[:200])
        return execute(sql, params, many, context)

    operations.execute_sql_flush = flush
    try:
        with connection.execute_wrapper(watch):
            yield touched
    finally:
        operations.execute_sql_flush = original_flush


def audit_verdict(touched: list[str]) -> None:
    if touched:
        pytest.fail(f"the audit log is append-only, but this test ran: {touched[0]}")


@pytest.fixture(autouse=True)
def _audit_append_only():
    """The audit log's append-only proof (ops.audit_models explains why not a trigger): every
    SQL statement of every test, on SQLite and MariaDB, is watched, and a test that updates or
    deletes an audit row fails (tests/ops/test_audit_log.py shows that it does)."""
    with audit_writes_watched() as touched:
        yield touched
    audit_verdict(touched)


@pytest.fixture(autouse=True)
def attachment_folder(settings, tmp_path):
    """Each test's attachments (messaging.attachment_storage) in a folder of its own: a rolled-back
    test never deletes its files, and ids repeat from test to test, so a shared folder would mix them."""
    folder = tmp_path / "attachments"
    settings.MESSAGING_ATTACHMENT_DIR = folder
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    return folder


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request as a zh-hans user leaves Chinese
    active in this thread, and a later test that calls a service directly would see it."""
    yield
    translation.deactivate()


def create_user(*, verified: bool = True, **fields) -> User:
    """A user; ``verified`` (the default for the personas) means their e-mail is verified,
    so Cradle warns them. A sign-up starts unverified: pass ``verified=False`` for that."""
    if verified:
        fields.setdefault("email_verified_at", timezone.now())
    return User.objects.create_user(**fields)


@pytest.fixture
def make_user(db):
    """``make_user(username=..., email=..., password=..., verified=True)``."""
    return create_user


@pytest.fixture
def owner(db) -> User:
    return create_user(username="alice", email="alice@example.com", password="pw-alice-123!")


@pytest.fixture
def other_user(db) -> User:
    return create_user(username="bob", email="bob@example.com", password="pw-bob-123!")


@pytest.fixture
def staff(db) -> User:
    """A superuser with an authenticator app: the back office wants a second factor
    (``accounts.admin_site``); ``client.force_login(staff)`` counts as both log-in steps."""
    user = User.objects.create_superuser(username="staff", email="staff@example.com", password="pw-staff-123!")
    give_totp(user)
    return user


def give_totp(user: User):
    """A confirmed TOTP device for ``user``; ``totp_code(device)`` gives its current code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="test app", confirmed=True)


def totp_code(device, *, steps: int = 0) -> str:
    """The device's code now, or ``steps`` time steps away (the clock may be frozen)."""
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def log_in_two_steps(client, username: str, password: str, device, *, login_url: str = "/accounts/login/", **extra):
    """Both steps of the log-in through the pages; returns the second step's response."""
    first = client.post(login_url, {"username": username, "password": password, **extra})
    assert first.status_code == 302 and first["Location"].endswith("/accounts/login/verify/"), first
    return client.post("/accounts/login/verify/", {"method": "totp", "code": totp_code(device)})


def healthz_report(client, params: dict | None = None):
    """/healthz as the operator's monitor reads it: with the token, so the JSON report."""
    from django.test import override_settings

    with override_settings(HEALTHZ_TOKEN="test-healthz-token"):
        return client.get("/healthz", params or {}, HTTP_AUTHORIZATION="Bearer test-healthz-token")


def make_api_client(user: User, scopes: list[str]) -> APIClient:
    key = apikey_create(user=user, name="test", permissions=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    return client


@pytest.fixture
def api_client_for():
    """``api_client_for(user, ["messages:read", ...])`` -> an APIClient with a fresh key."""
    return make_api_client


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points a child process at the database this test uses."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    password = settings_dict["PASSWORD"]
    auth = settings_dict["USER"] + (f":{password}" if password else "")
    return f"mysql://{auth}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url_for_subprocess(),
        DJANGO_SETTINGS_MODULE="cradle_site.settings_test",
        DEBUG="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def run_python(code: str, **extra_env: str) -> subprocess.Popen:
    """Start ``python -c code`` with Django set up against the test database."""
    prelude = "import django; django.setup()\n"
    return subprocess.Popen(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=subprocess_env(**extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Cluster:
    """A real ``manage.py qcluster`` in its own process group, output to a file.

    Not a pipe: workers the cluster leaves behind would hold a pipe open and a read of it
    would wait for ever. ``stop`` asks the main process to stop its workers in order, then
    kills whatever is left of the group, so a test never hangs on a cluster.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.output = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> str:
        """Stop the cluster and every process it started; return what it printed."""
        # SIGTERM to the main process only: a signal to the whole group kills the workers
        # first, and the main process then waits for them.
        try:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.output.seek(0)
        text = self.output.read()
        self.output.close()
        return text


@pytest.fixture
def time_machine_now(time_machine):
    """``time_machine_now(dt)`` moves the frozen clock to ``dt`` (tick=False)."""

    def move(when):
        time_machine.move_to(when, tick=False)

    return move
