"""The log-in limit is exact when two real processes race (SQLite and MariaDB; database and Redis counters).

Two threads of one process would prove nothing on SQLite (one connection file lock per
process, the GIL in between); these are two Python processes, each with its own connection,
started at the same instant and posting as fast as they can.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest

from accounts.models import User
from tests.conftest import run_python

ATTEMPTS_EACH = 40  # long enough that both are posting at once even on a loaded machine
LIMIT = 5

RACER = """
import json, os, time
from django.conf import settings
from django.test import Client

# A window no test run straddles, so the count under test is one window's.
settings.RATE_LIMIT_LOGIN = (int(os.environ["LIMIT"]), 10**9)
settings.RATE_LIMIT_LOGIN_ADDRESS = settings.RATE_LIMIT_LOGIN_ACCOUNT = (10**6, 10**9)
client = Client(REMOTE_ADDR=os.environ["ADDRESS"])
client.get("/accounts/login/")  # warm up: imports, connection
start = float(os.environ["START_AT"])
while time.time() < start:
    time.sleep(0.001)
codes, first = [], time.time()
for _ in range(int(os.environ["ATTEMPTS"])):
    codes.append(client.post("/accounts/login/", {"username": "dave", "password": "wrong"}).status_code)
print(json.dumps({"codes": codes, "first": first, "last": time.time()}))
"""


def _race(**env: str) -> list[dict]:
    start_at = str(time.time() + 3)
    common = {"LIMIT": str(LIMIT), "ATTEMPTS": str(ATTEMPTS_EACH), "START_AT": start_at, **env}
    children = [run_python(RACER, **common) for _ in range(2)]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _redis_url() -> str | None:
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("counters", ["database", "redis"])
def test_two_processes_racing_get_exactly_the_limit_of_checked_attempts(counters):
    User.objects.create_user(username="dave", email="dave@example.com", password="pw-dave-123!")
    # A fresh address per run: a Redis shared with other runs never holds this bucket.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    env = {"ADDRESS": address, "RATE_LIMIT_STORE": counters}
    if counters == "redis":
        url = _redis_url()
        if url is None:
            # bin/test starts Redis and sets CRADLE_REQUIRE_REDIS=1: there a missing Redis is a failure.
            if os.environ.get("CRADLE_REQUIRE_REDIS") == "1":
                pytest.fail("CRADLE_REQUIRE_REDIS=1 but no Redis on 127.0.0.1:6379")
            pytest.skip("no Redis on 127.0.0.1:6379")
        env["CACHE_REDIS_URL"] = url
    results = _race(**env)
    codes = [code for result in results for code in result["codes"]]
    assert sorted(codes) == [200] * LIMIT + [429] * (2 * ATTEMPTS_EACH - LIMIT), codes
    # They did race: each process was still posting when the other began.
    assert results[0]["first"] < results[1]["last"] and results[1]["first"] < results[0]["last"]
    if counters == "database":
        from cradle_site.models import RateBucket

        assert sorted(RateBucket.objects.values_list("hits", flat=True)) == [LIMIT, LIMIT, LIMIT]
