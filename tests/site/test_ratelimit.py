"""The limiter itself: client addresses behind proxies, the counters (database and Redis), purging."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from cradle_site import checks, env, ratelimit
from cradle_site.models import RateBucket
from cradle_site.ratelimit import Bucket, Rate
from tests.clock import NOW

rf = RequestFactory()


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return rf.get("/", **extra)


def test_it_never_reads_the_header_without_a_trusted_proxy(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_NETWORKS = 0, []
    assert ratelimit.client_ip(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_it_takes_the_address_our_proxies_appended_counting_from_the_right(settings):
    settings.TRUSTED_PROXY_NETWORKS = []
    settings.TRUSTED_PROXY_COUNT = 1
    # The client forged the first entry; our proxy appended the address it saw.
    assert ratelimit.client_ip(_request("10.0.0.1", "6.6.6.6, 203.0.113.5")) == "203.0.113.5"
    settings.TRUSTED_PROXY_COUNT = 2
    assert ratelimit.client_ip(_request("10.0.0.1", "6.6.6.6, 203.0.113.5, 10.0.0.2")) == "203.0.113.5"
    # Fewer entries than proxies: the request came around them; the header is not ours.
    assert ratelimit.client_ip(_request("198.51.100.3", "6.6.6.6")) == "198.51.100.3"
    assert ratelimit.client_ip(_request("198.51.100.3")) == "198.51.100.3"


def test_it_skips_hops_inside_the_trusted_networks(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8"]
    assert ratelimit.client_ip(_request("10.0.0.1", "6.6.6.6, 203.0.113.5, 10.1.2.3")) == "203.0.113.5"
    # A peer outside the networks is the client, whatever it claims.
    assert ratelimit.client_ip(_request("198.51.100.3", "6.6.6.6")) == "198.51.100.3"


def test_it_counts_an_ipv6_client_per_64_block():
    assert ratelimit.address_ident("2001:db8:1:2:aaaa::1") == ratelimit.address_ident("2001:db8:1:2:bbbb::9")
    assert ratelimit.address_ident("2001:db8:1:3::1") != ratelimit.address_ident("2001:db8:1:2::1")
    assert ratelimit.address_ident("::ffff:203.0.113.5") == "203.0.113.5"


def test_it_refuses_a_proxy_network_it_cannot_read(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY_NETWORKS", "10.0.0.0/8,not-a-net")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXY_NETWORKS: 'not-a-net' is not an IP address"):
        env.env_networks("TRUSTED_PROXY_NETWORKS")


def test_it_warns_when_a_proxy_is_trusted_for_https_but_not_for_addresses(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_NETWORKS = 0, []
    assert [w.id for w in checks.check_trusted_proxies()] == ["cradle.W002"]
    settings.TRUSTED_PROXY_COUNT = 1
    assert checks.check_trusted_proxies() == []


@pytest.fixture(params=["database", "redis"])
def store(request, settings, db):
    settings.RATE_LIMIT_STORE = request.param
    if request.param == "redis":
        import redis

        settings.CACHE_REDIS_URL = "redis://127.0.0.1:6379/0"
        try:
            redis.Redis.from_url(settings.CACHE_REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError:
            # bin/test starts Redis and sets CRADLE_REQUIRE_REDIS=1: there a missing Redis is a failure.
            if os.environ.get("CRADLE_REQUIRE_REDIS") == "1":
                pytest.fail("CRADLE_REQUIRE_REDIS=1 but no Redis on 127.0.0.1:6379")
            pytest.skip("no Redis on 127.0.0.1:6379")
    return request.param


def _bucket(limit=3, window=60) -> Bucket:
    import uuid

    return Bucket("test", uuid.uuid4().hex, Rate(limit, window))  # fresh in a shared Redis


def test_it_lets_exactly_the_limit_through_then_says_when_to_come_back(store, time_machine):
    time_machine.move_to(NOW + timedelta(seconds=15), tick=False)
    bucket = _bucket(limit=3, window=60)
    decisions = [ratelimit.reserve([bucket]) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert decisions[-1].retry_after == 45
    assert ratelimit.count(bucket) == 3  # refused attempts take nothing
    time_machine.move_to(NOW + timedelta(seconds=60), tick=False)
    assert ratelimit.reserve([bucket]).allowed  # a new window


def test_it_gives_back_the_hits_of_an_attempt_that_was_no_failure(store):
    bucket = _bucket(limit=2)
    for _ in range(5):
        decision = ratelimit.reserve([bucket])
        assert decision.allowed
        ratelimit.release(decision)
    assert ratelimit.count(bucket) == 0


def test_a_refusal_by_one_bucket_takes_nothing_from_the_others(store):
    small, big = _bucket(limit=1), _bucket(limit=10)
    assert ratelimit.reserve([big, small]).allowed
    assert not ratelimit.reserve([big, small]).allowed
    assert ratelimit.count(big) == 1


def test_the_database_holds_no_address_or_name(db):
    ratelimit.hit(Bucket("login:address", "203.0.113.77", Rate(5, 60)))
    row = RateBucket.objects.get()
    assert "203.0.113.77" not in row.key and len(row.key) == 64


def test_it_deletes_dead_rows_as_it_goes(db, settings, time_machine, monkeypatch):
    settings.RATE_LIMIT_STORE = "database"
    time_machine.move_to(NOW, tick=False)
    for index in range(3):
        ratelimit.hit(Bucket("old", str(index), Rate(5, 60)))
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)
    monkeypatch.setattr(ratelimit.random, "randrange", lambda n: 0)  # this insert purges
    ratelimit.hit(Bucket("new", "x", Rate(5, 60)))
    assert RateBucket.objects.count() == 1


def test_the_apis_throttles_count_by_the_same_client_address(settings):
    from rest_framework.request import Request

    from cradle_site.throttles import AnonRateThrottle

    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_NETWORKS = 1, []
    request = Request(_request("10.0.0.1", "6.6.6.6, 203.0.113.5"))
    assert AnonRateThrottle().get_ident(request) == "203.0.113.5"
