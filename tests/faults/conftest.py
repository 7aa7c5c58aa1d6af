"""Fault injection on MariaDB: a private server the tests kill, worker processes they kill, a receiver.

Every test here starts processes against ``PrivateMariaDB`` (port ``CRADLE_FAULTS_PORT``,
3407 by default), never against the suite's database, and judges the run the same way
after recovery (``Outcome``): 0 lost, 0 stuck in ``delivering`` or ``sending``, and 0
duplicates - except, where a worker may have died (or timed out) between the receiver
taking a POST and our write, copies that carry one delivery id the receiver can drop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from tests.conftest import ROOT, subprocess_env
from tests.faults.server import PrivateMariaDB, Receiver
from tests.messaging.sim.doubles import DELIVERY_ID_HEADERS

DATABASE = "cradle_faults"
PORT = int(os.environ.get("CRADLE_FAULTS_PORT", "3407"))

# Small numbers so a run takes seconds: the webhook times out after 1 s, retries wait 1-2 s.
WORKER_ENV = {
    "OUTBOUND_ALLOW_PRIVATE": "1",
    "MESSAGING_WEBHOOK_TIMEOUT": "1",
    "MESSAGING_RETRY_BASE_SECONDS": "1",
    "MESSAGING_RETRY_MAX_SECONDS": "2",
    "DATABASE_CONNECT_TIMEOUT": "2",
    "DATABASE_READ_TIMEOUT": "20",
    "DATABASE_WRITE_TIMEOUT": "20",
}

SETUP = r"""
import json, os, secrets
from django.utils import timezone
from accounts.models import User
from messaging.models import Message, MessageBody, Recipient
count, base = int(os.environ["FAULT_MESSAGES"]), os.environ["FAULT_RECEIVER"]
Message.objects.all().delete()
owner, _ = User.objects.get_or_create(username="faults", defaults={"email": "faults@example.com"})
now = timezone.now()
Message.objects.bulk_create(
    [Message(owner=owner, initial_delay_months=1, next_warning_date=now, warning_level=5,
             revocation_key_hash=secrets.token_hex(32)) for _ in range(count)]
)
ids = list(Message.objects.order_by("id").values_list("id", flat=True))
MessageBody.objects.bulk_create([MessageBody(message_id=pk, content=f"words {pk}") for pk in ids])
# Straight into the table: the service refuses http:// and local addresses, and rightly so.
Recipient.objects.bulk_create(
    [Recipient(message_id=pk, name=f"R{pk}", contact=f"{base}/r/{pk}", contact_type="webhook") for pk in ids]
)
print(json.dumps(ids))
"""

# The cluster's minute, again and again, for RUN_SECONDS (0: once); a job that fails (the
# database went away) is retried after the connection is dropped, as django-q2 does between tasks.
# SEND_LIMIT: sweep, then deliveries_send(limit=SEND_LIMIT) - small claims, so a dead worker or
# a lost connection strands only a few rows under their lease and the others go on sending.
WORKER = r"""
import os, sys, time
from django.db import close_old_connections
from messaging.delivery import deliveries_send
from messaging.sweep import sweep_due
from tests.jobs import messaging_minute
limit = int(os.environ.get("SEND_LIMIT", "0"))
print("ready", flush=True)
deadline = time.monotonic() + float(os.environ.get("RUN_SECONDS", "0"))
while True:
    try:
        if limit:
            sweep_due()
            deliveries_send(limit=limit)
        else:
            messaging_minute()
    except Exception as exc:
        print(f"job failed: {exc.__class__.__name__}: {exc}", file=sys.stderr, flush=True)
        close_old_connections()
        time.sleep(0.2)
    if time.monotonic() >= deadline:
        break
    time.sleep(0.01)
"""

# After the faults: the cluster runs on, each minute fifteen simulated minutes after the last
# (so leases of dead workers run out without waiting for them), until nothing is left to send.
DRAIN = r"""
import json
from datetime import timedelta
import time_machine
from django.db import close_old_connections
from django.utils import timezone
from messaging.models import Delivery
from tests.jobs import messaging_minute
start, idle, minutes = timezone.now(), 0, 0
while idle < 3 and minutes < 60:
    minutes += 1
    with time_machine.travel(start + timedelta(minutes=15 * minutes), tick=False):
        try:
            messaging_minute()
        except Exception:
            close_old_connections()
            continue
    busy = Delivery.objects.filter(state__in=["pending", "sending"]).exists()
    idle = 0 if busy else idle + 1
print(json.dumps({"minutes": minutes}))
"""

COUNT = r"""
import json
from django.db.models import Count
from messaging.models import Delivery, Message, StatusLog
print(json.dumps({
    "messages": dict(Message.objects.values_list("state").annotate(n=Count("id"))),
    "deliveries": dict(Delivery.objects.values_list("state").annotate(n=Count("id"))),
    "delivered_logs": StatusLog.objects.filter(status="DELIVERED").count(),
}))
"""


class Faults:
    """The private server plus helpers to run the scripts above against it."""

    def __init__(self, server: PrivateMariaDB) -> None:
        self.server = server

    def env(self, **extra: str) -> dict[str, str]:
        return subprocess_env(DATABASE_URL=self.server.url(DATABASE), **WORKER_ENV, **extra)

    def start(self, code: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", "import django; django.setup()\n" + code],
            cwd=ROOT,
            env=self.env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def run(self, code: str, timeout: float = 300, **extra: str):
        process = self.start(code, **extra)
        out, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, err[-3000:]
        return json.loads(out.strip().splitlines()[-1])

    def setup(self, receiver: Receiver, *, messages: int) -> list[int]:
        return self.run(SETUP, FAULT_MESSAGES=str(messages), FAULT_RECEIVER=receiver.base_url)

    def worker(self, seconds: float = 0, **extra: str) -> subprocess.Popen:
        process = self.start(WORKER, RUN_SECONDS=str(seconds), **extra)
        assert process.stdout.readline().strip() == "ready", process.communicate()[1][-3000:]
        return process

    def drain(self) -> dict:
        return self.run(DRAIN)

    def count(self) -> dict:
        return self.run(COUNT)


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)


def finish(process: subprocess.Popen, timeout: float = 120) -> str:
    """Wait for a worker to end its run; return what it said on stderr."""
    try:
        _out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(process)
        raise
    return err


@pytest.fixture(scope="session")
def private_mariadb(tmp_path_factory):
    server = PrivateMariaDB(tmp_path_factory.mktemp("mariadb"), port=PORT)
    server.install()
    server.start()
    try:
        server.sql(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=subprocess_env(DATABASE_URL=server.url(DATABASE), DATABASE_READ_TIMEOUT="0"),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        yield server
    finally:
        server.stop()


@pytest.fixture
def faults(private_mariadb) -> Faults:
    if not private_mariadb.ping():  # a test that failed between a kill and the restart
        private_mariadb.start()
    return Faults(private_mariadb)


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@dataclass
class Outcome:
    """What the receiver got and what the database says, after recovery."""

    ids: list[int]
    posts: dict
    counts: dict

    @property
    def lost(self) -> list[int]:
        return [pk for pk in self.ids if not self.posts.get(f"/r/{pk}")]

    @property
    def stuck(self) -> dict[str, int]:
        messages, deliveries = self.counts["messages"], self.counts["deliveries"]
        found = {
            "messages delivering": messages.get("delivering", 0),
            "deliveries sending": deliveries.get("sending", 0),
        }
        return {k: v for k, v in found.items() if v}

    def duplicates(self, *, same_id_excused: bool) -> dict[str, list[str]]:
        """Recipients that got more than one copy, with each copy's delivery id ('-': none).

        ``same_id_excused``: copies that all carry one delivery id count once (the receiver
        drops the repeat) - allowed only where the sender could not know the first arrived.
        """
        found = {}
        for path, posts in self.posts.items():
            if len(posts) < 2:
                continue
            ids = [_delivery_id(post.headers) or "-" for post in posts]
            if same_id_excused and len(set(ids)) == 1 and ids[0] != "-":
                continue
            found[path] = ids
        return found

    def report(self, *, same_id_excused: bool) -> str:
        duplicates = self.duplicates(same_id_excused=same_id_excused)
        copies = sum(len(p) for p in self.posts.values())
        return (
            f"{len(self.ids)} messages, {copies} POSTs to {len(self.posts)} recipients; lost {len(self.lost)} "
            f"{self.lost[:10]}, stuck {self.stuck}, duplicates {len(duplicates)} {dict(list(duplicates.items())[:5])}; "
            f"database {self.counts}"
        )

    def assert_recovered(self, *, same_id_excused: bool) -> None:
        duplicates = self.duplicates(same_id_excused=same_id_excused)
        delivered = self.counts["messages"].get("delivered", 0)
        if self.lost or self.stuck or duplicates or delivered != len(self.ids):
            pytest.fail(self.report(same_id_excused=same_id_excused), pytrace=False)


def _delivery_id(headers: dict[str, str]) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    return next((lowered[name.lower()] for name in DELIVERY_ID_HEADERS if lowered.get(name.lower())), "")


def outcome(faults: Faults, receiver: Receiver, ids: list[int]) -> Outcome:
    faults.drain()
    return Outcome(ids=ids, posts=receiver.by_path(), counts=faults.count())


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
