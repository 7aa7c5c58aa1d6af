"""One rate limiter for the pages and the API's key check, exact across processes and machines.

A limit is a ``Rate`` (so many hits per fixed window of seconds) applied to a ``Bucket``
(a scope such as ``login:address`` and an identity such as a client address or a normalised
account name). The counters live where every web process sees the same number:

- the database (``cradle_site.RateBucket``) by default, so the embedded SQLite and several
  gunicorn workers without Redis share one count. ``hit`` is one short transaction: a
  conditional ``UPDATE hits = hits + 1`` on the current window, else a reset of an old
  window, else an ``INSERT`` (a racing insert is retried), then the new count is read back
  under the row's lock. SQLite serialises writers on the file and MariaDB on the row, so
  two processes never read the same count; a deadlock between two first inserts is rolled
  back and retried by ``retry_on_deadlock``. Dead rows are deleted lazily, a few at a time.
- Redis when ``CACHE_REDIS_URL`` is set: ``INCR`` + ``EXPIRE`` in one ``MULTI``.

``reserve`` is how a guarded action asks: it reads the buckets first (a full bucket costs
no write, the common case under attack), then counts the attempt in every bucket *before*
the action runs, and refuses (undoing its hits) when any count went past its limit. Because
the attempt is counted before it is checked, with a limit of 5 exactly 5 attempts are
checked however many processes race; ``release`` gives the hits back when the attempt
turned out not to be a failure (a right password).

Why not a library. django-axes guards only the log-in (not revocation, check-in or API
keys) and keys lockouts on its own models; django-ratelimit counts in Django's cache, which
is per process by default (the very bug this replaces) and would need a shared cache on
every deployment, SQLite ones included; neither knows a known-device cookie. The limiter
here is ~200 lines over one table. Django's ``DatabaseCache`` was no option either: its
``incr`` is a read then a write, not atomic.

Windows are fixed (a burst at a window's edge can reach twice the limit across two
windows); the limits below are set with that in mind.

Client addresses: ``client_ip`` is the one place that reads them. With no trusted proxy
configured it is ``REMOTE_ADDR`` and no header is ever believed. With
``TRUSTED_PROXY_COUNT = n`` the address is the n-th entry of ``X-Forwarded-For`` counted from
the right (each of our proxies appends the address it saw; entries further left are the
client's to forge). With ``TRUSTED_PROXY_NETWORKS`` the walk from the right skips every hop
inside those networks and stops at the first one outside. IPv6 clients are counted per /64,
the block one subscriber usually holds.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from cradle_site.errors import Busy
from cradle_site.retry import retry_on_deadlock

logger = logging.getLogger(__name__)

# One insert in this many also deletes a batch of dead rows.
_PURGE_ONE_IN = 50
_PURGE_BATCH = 500


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int  # seconds

    @classmethod
    def of(cls, value: tuple[int, int] | Rate) -> Rate:
        """Settings hold ``(limit, window seconds)``; tests override them the same way."""
        return value if isinstance(value, Rate) else cls(int(value[0]), int(value[1]))


@dataclass(frozen=True)
class Bucket:
    scope: str
    ident: str
    rate: Rate

    @property
    def key(self) -> str:
        # An HMAC, not the identity: the table and Redis hold no address, name or e-mail.
        return salted_hmac(
            "cradle.ratelimit", f"{self.scope}\0{self.rate.window}\0{self.ident}", algorithm="sha256"
        ).hexdigest()


@dataclass
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds until the fullest bucket opens again
    taken: list[Bucket] = field(default_factory=list)


# --- client address ------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The client's address, believing ``X-Forwarded-For`` only as far as our own proxies wrote it."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    count = settings.TRUSTED_PROXY_COUNT
    networks = _networks(tuple(settings.TRUSTED_PROXY_NETWORKS))
    if not count and not networks:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    chain = [*forwarded, remote]
    # Walk from the right: each hop we trust wrote the entry to its left.
    index = len(chain) - 1
    hops = 0
    while index > 0:
        hop = chain[index]
        if count and hops >= count:
            break
        if networks and not _in_networks(hop, networks):
            break
        index -= 1
        hops += 1
    if count and hops < count:
        # Fewer entries than proxies: the request did not come through all of them (or came
        # around them), so the header is not ours and the peer is the client.
        return remote
    return chain[index]


@cache
def _networks(raw: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in raw)


def _in_networks(address: str, networks) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def address_ident(address: str) -> str:
    """What a per-address bucket counts: the address, or its /64 for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def request_address(request: HttpRequest) -> str:
    return address_ident(client_ip(request))


# --- the counters --------------------------------------------------------------------


def _window(rate: Rate, now: datetime) -> tuple[datetime, datetime]:
    epoch = now.timestamp()
    start = math.floor(epoch / rate.window) * rate.window
    begin = datetime.fromtimestamp(start, tz=now.tzinfo)
    return begin, begin + timedelta(seconds=rate.window)


def _retry_after(rate: Rate, now: datetime) -> int:
    _begin, end = _window(rate, now)
    return max(1, math.ceil((end - now).total_seconds()))


class _DatabaseStore:
    def count(self, bucket: Bucket, now: datetime) -> int:
        from cradle_site.models import RateBucket

        begin, _end = _window(bucket.rate, now)
        return RateBucket.objects.filter(key=bucket.key, window_start=begin).values_list("hits", flat=True).first() or 0

    def hit(self, bucket: Bucket, now: datetime) -> int:
        from cradle_site.models import RateBucket

        begin, end = _window(bucket.rate, now)
        rows = RateBucket.objects.filter(key=bucket.key)

        def work() -> tuple[int, bool]:
            with transaction.atomic():
                inserted = False
                for _attempt in range(3):
                    if rows.filter(window_start=begin).update(hits=F("hits") + 1):
                        break
                    # An old window: start this one (a racing process that started it first
                    # makes this match nothing, and the first UPDATE matches on the next turn).
                    if rows.exclude(window_start=begin).update(window_start=begin, hits=1, expires_at=end):
                        break
                    try:
                        with transaction.atomic():
                            RateBucket.objects.create(key=bucket.key, window_start=begin, hits=1, expires_at=end)
                        inserted = True
                        break
                    except IntegrityError:
                        continue  # another process inserted it between our UPDATE and INSERT
                else:
                    raise Busy("rate bucket kept changing under us")
                # Under the row's lock, so the count is ours and no other process's.
                hits = rows.select_for_update().values_list("hits", flat=True).get()
                return hits, inserted

        hits, inserted = retry_on_deadlock(work)
        if inserted and random.randrange(_PURGE_ONE_IN) == 0:
            self.purge(now)
        return hits

    def unhit(self, bucket: Bucket, now: datetime) -> None:
        from cradle_site.models import RateBucket

        begin, _end = _window(bucket.rate, now)
        retry_on_deadlock(
            lambda: RateBucket.objects.filter(key=bucket.key, window_start=begin, hits__gt=0).update(hits=F("hits") - 1)
        )

    def reset(self, bucket: Bucket, now: datetime) -> None:
        from cradle_site.models import RateBucket

        retry_on_deadlock(lambda: RateBucket.objects.filter(key=bucket.key).delete())

    def purge(self, now: datetime) -> int:
        """Delete one batch of dead rows (their window is over); the index on expires_at finds them."""
        from cradle_site.models import RateBucket

        keys = list(RateBucket.objects.filter(expires_at__lt=now).values_list("key", flat=True)[:_PURGE_BATCH])
        if not keys:
            return 0
        deleted, _ = RateBucket.objects.filter(key__in=keys, expires_at__lt=now).delete()
        return deleted


class _RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def _name(self, bucket: Bucket, now: datetime) -> str:
        begin, _end = _window(bucket.rate, now)
        return f"cradle:rl:{bucket.key}:{int(begin.timestamp())}"

    def count(self, bucket: Bucket, now: datetime) -> int:
        return int(self.client.get(self._name(bucket, now)) or 0)

    def hit(self, bucket: Bucket, now: datetime) -> int:
        name = self._name(bucket, now)
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, bucket.rate.window + 1)
        hits, _ok = pipe.execute()
        return int(hits)

    def unhit(self, bucket: Bucket, now: datetime) -> None:
        name = self._name(bucket, now)
        # Never below zero, and never create a key that is not there.
        self.client.eval(
            "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end return 0",
            1,
            name,
        )

    def reset(self, bucket: Bucket, now: datetime) -> None:
        self.client.delete(self._name(bucket, now))

    def purge(self, now: datetime) -> int:
        return 0  # keys expire on their own


@cache
def _redis_store(url: str) -> _RedisStore:
    return _RedisStore(url)


def store() -> _DatabaseStore | _RedisStore:
    if settings.RATE_LIMIT_STORE == "redis":
        return _redis_store(settings.CACHE_REDIS_URL)
    return _DatabaseStore()


# --- what callers use ------------------------------------------------------------------


def count(bucket: Bucket) -> int:
    return store().count(bucket, timezone.now())


def hit(bucket: Bucket) -> int:
    """Count one hit now and return the bucket's count in this window."""
    return store().hit(bucket, timezone.now())


def reset(bucket: Bucket) -> None:
    store().reset(bucket, timezone.now())


def limited(buckets: list[Bucket]) -> int:
    """Seconds until every bucket has room again; 0 when none is full. Reads only."""
    now = timezone.now()
    backend = store()
    waits = [_retry_after(b.rate, now) for b in buckets if backend.count(b, now) >= b.rate.limit]
    return max(waits, default=0)


def reserve(buckets: list[Bucket]) -> Decision:
    """Count one attempt in every bucket before it runs; refuse it if any bucket is full.

    A refused attempt takes its hits back, so the counts stay the attempts that ran. A
    database that keeps deadlocking refuses too (for a second): a limiter that fails open
    under load is no limiter.
    """
    now = timezone.now()
    backend = store()
    wait = limited(buckets)
    if wait:
        return Decision(allowed=False, retry_after=wait)
    taken: list[Bucket] = []
    try:
        for bucket in buckets:
            hits = backend.hit(bucket, now)
            taken.append(bucket)
            if hits > bucket.rate.limit:
                release(Decision(allowed=False, taken=taken))
                return Decision(allowed=False, retry_after=_retry_after(bucket.rate, now))
    except Busy:
        logger.warning("rate limiter: the database stayed busy; attempt refused")
        release(Decision(allowed=False, taken=taken))
        return Decision(allowed=False, retry_after=1)
    return Decision(allowed=True, taken=taken)


def release(decision: Decision) -> None:
    """Give back the hits of an attempt that was not a failure (a right password)."""
    now = timezone.now()
    backend = store()
    for bucket in decision.taken:
        try:
            backend.unhit(bucket, now)
        except Busy:
            logger.warning("rate limiter: could not give back a hit (%s)", bucket.scope)
    decision.taken = []


def limited_response(response: HttpResponse, retry_after: int) -> HttpResponse:
    """Make ``response`` the answer of a limited request: 429 and when to come back."""
    response.status_code = 429
    response["Retry-After"] = str(max(1, int(retry_after)))
    return response
