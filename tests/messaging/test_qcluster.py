"""Integration: a real ``manage.py qcluster`` with the schedules installed escalates a due message."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from cradle_site.models import Heartbeat
from cradle_site.schedules import install_schedules
from messaging.models import Message
from tests.conftest import Cluster, subprocess_env


@pytest.mark.mariadb_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_running_cluster_escalates_a_due_message(owner, make_message):
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(next_warning_date=timezone.now())
    install_schedules()
    cluster = Cluster(subprocess_env(Q_WORKERS="1"))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and cluster.running():
            message.refresh_from_db()
            if message.warning_level == 1:
                break
            time.sleep(0.5)
    finally:
        output = cluster.stop()
    assert message.warning_level == 1, output[-3000:]
    assert message.status_logs.get().status == "WARNING_1"
    assert Heartbeat.objects.filter(name="messaging.sweep").exists()
