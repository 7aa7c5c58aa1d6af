"""Once per incident across threads and processes, on MariaDB: the unique open incident decides.

Threads and real worker processes open the same incident at the same moment and then all
run the send job; the receiver (a real HTTP server verifying each request with
``standardwebhooks``) must get exactly one alert.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from cradle_site import webhooks
from publishing import alerts
from publishing.alert_models import PublishingAlert
from publishing.models import Project
from tests.conftest import run_python

from .alert_receiver import AlertReceiver

pytestmark = [pytest.mark.mariadb_only, pytest.mark.django_db(transaction=True)]
Kind = PublishingAlert.Kind


def test_threads_opening_one_incident_at_once_open_it_once(project):
    n = 8
    barrier = threading.Barrier(n)
    results: list[bool] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(alerts.alert_open(project_id=project.pk, kind=Kind.CREDENTIALS_REJECTED))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == [False] * (n - 1) + [True]
    assert PublishingAlert.objects.filter(project=project).count() == 1


WORKER = """
import sys
from publishing import alerts
opened = sum(alerts.alert_open(project_id={pk}, kind="credentials_rejected") for _ in range(25))
counts = alerts.alerts_send()
print(opened, counts["sent"])
"""


@pytest.mark.slow
def test_four_worker_processes_send_one_alert_for_one_incident(project):
    secret = webhooks.new_secret()
    with AlertReceiver(secret) as receiver:
        Project.objects.filter(pk=project.pk).update(
            alert_email=False, alert_webhook_url=receiver.url, alert_webhook_secret=secret
        )
        workers = [run_python(WORKER.format(pk=project.pk), OUTBOUND_ALLOW_PRIVATE="1") for _ in range(4)]
        outputs = [worker.communicate(timeout=120) for worker in workers]
        for worker, (_out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err[-2000:]
        opened = [int(out.split()[0]) for out, _ in outputs]
        sent = [int(out.split()[1]) for out, _ in outputs]
        assert receiver.kinds() == ["credentials_rejected"], receiver.dump()
    assert (sum(opened), sum(sent)) == (1, 1)
    assert PublishingAlert.objects.get().state == PublishingAlert.State.SENT
