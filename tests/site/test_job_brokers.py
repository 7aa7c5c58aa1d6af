"""A task queued from the site runs on a real ``qcluster`` process, with the ORM broker
(the default) and with the Redis broker (deployments past one machine)."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from cradle_site.models import Heartbeat
from tests.conftest import Cluster, run_python, subprocess_env

pytestmark = pytest.mark.slow  # every test starts a child process or a cluster

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


if os.environ.get("CRADLE_REQUIRE_REDIS") == "1" and not redis_available():
    raise RuntimeError(f"CRADLE_REQUIRE_REDIS=1 but no Redis answers at {REDIS_URL} (bin/services starts it)")


def wait_for_beat(name: str, timeout: float = 60) -> Heartbeat | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beat = Heartbeat.objects.filter(name=name).first()
        if beat is not None:
            return beat
        time.sleep(0.3)
    return None


def enqueue_probe(name: str, **env: str) -> None:
    child = run_python(
        f"from django_q.tasks import async_task; print(async_task('cradle_site.health.beat', {name!r}))", **env
    )
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out.strip(), "async_task returned no task id"


@pytest.mark.django_db(transaction=True)
def test_orm_broker_runs_a_task_on_a_real_cluster():
    name = f"probe-orm-{uuid.uuid4().hex[:8]}"
    cluster_name = f"t{uuid.uuid4().hex[:8]}"
    enqueue_probe(name, Q_CLUSTER_NAME=cluster_name)
    cluster = Cluster(subprocess_env(Q_CLUSTER_NAME=cluster_name))
    try:
        beat = wait_for_beat(name)
    finally:
        log = cluster.stop()
    assert beat is not None, f"the cluster did not run the task; its log:\n{log[-3000:]}"
    assert beat.beats == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not redis_available(), reason=f"no Redis at {REDIS_URL}")
def test_redis_broker_runs_a_task_on_a_real_cluster():
    name = f"probe-redis-{uuid.uuid4().hex[:8]}"
    env = {"Q_REDIS_URL": REDIS_URL, "Q_CLUSTER_NAME": f"t{uuid.uuid4().hex[:8]}"}
    enqueue_probe(name, **env)
    cluster = Cluster(subprocess_env(**env))
    try:
        beat = wait_for_beat(name)
    finally:
        log = cluster.stop()
    assert beat is not None, f"the cluster did not run the task; its log:\n{log[-3000:]}"
    assert beat.beats == 1
