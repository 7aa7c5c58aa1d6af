"""Integration: a real ``manage.py qcluster`` with the schedules installed escalates a due message."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from cradle_site.models import Heartbeat
from cradle_site.schedules import install_schedules
from messaging.models import Message
from tests.conftest import ROOT, subprocess_env


@pytest.mark.mariadb_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_running_cluster_escalates_a_due_message(owner, make_message):
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(next_warning_date=timezone.now())
    install_schedules()
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=subprocess_env(Q_WORKERS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and cluster.poll() is None:
            message.refresh_from_db()
            if message.warning_level == 1:
                break
            time.sleep(0.5)
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            output, _ = cluster.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            cluster.kill()
            output, _ = cluster.communicate()
    assert message.warning_level == 1, output[-3000:]
    assert message.status_logs.get().status == "WARNING_1"
    assert Heartbeat.objects.filter(name="messaging.sweep").exists()
