"""The log-in's limits, shared by the site's log-in page and the admin's.

Three buckets count failed log-ins (``cradle_site.ratelimit``; sizes are settings):

- per client address and account (``RATE_LIMIT_LOGIN``, 5 by default): guessing one
  account from one place;
- per client address, any account (``RATE_LIMIT_LOGIN_ADDRESS``): one place trying many names;
- per account from anywhere (``RATE_LIMIT_LOGIN_ACCOUNT``): many places guessing one name.

The last one is what an attacker elsewhere could fill to lock the owner out, so a browser
that holds the account's *known-device* cookie skips it: the cookie is signed, names the
user, and is set on every successful log-in (HttpOnly, Secure in production, long-lived).
The owner's own address still has its own two buckets, which no one else can fill.

The account is the name as typed, folded (``accounts.identity``), whether or not such an
account exists, so a variant spelling shares the bucket and a limit says nothing about
which names are real. Every attempt is counted before the password is checked
(``ratelimit.reserve``), so a limit of 5 means exactly 5 checks however many processes
race; a right password gives its hits back and clears its address+account bucket.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.identity import username_key
from cradle_site import ratelimit
from cradle_site.ratelimit import Bucket, Rate

KNOWN_DEVICE_COOKIE = "cradle_device"
_SALT = "cradle.accounts.known-device"
_MAX_USERS_PER_DEVICE = 10


def known_device_users(request: HttpRequest) -> list[int]:
    """The users who logged in on this browser before (from the signed cookie), newest first."""
    raw = request.COOKIES.get(KNOWN_DEVICE_COOKIE)
    if not raw:
        return []
    try:
        value = signing.loads(raw, salt=_SALT, max_age=settings.LOGIN_KNOWN_DEVICE_DAYS * 86400)
    except signing.BadSignature:
        return []
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, int)]


def remember_device(request: HttpRequest, response: HttpResponse, user) -> None:
    users = [user.pk, *[pk for pk in known_device_users(request) if pk != user.pk]][:_MAX_USERS_PER_DEVICE]
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        signing.dumps(users, salt=_SALT),
        max_age=settings.LOGIN_KNOWN_DEVICE_DAYS * 86400,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def _account_pk(account: str) -> int | None:
    from accounts.models import User

    return User.objects.filter(username_key=account).values_list("pk", flat=True).first()


class LoginGuard:
    """One log-in attempt: ask before checking the password, tell it how it went."""

    def __init__(self, request: HttpRequest, username: str) -> None:
        self.request = request
        address = ratelimit.request_address(request)
        account = username_key(username)[:200]
        self.account = account
        self.pair = Bucket("login:address+account", f"{address}\0{account}", Rate.of(settings.RATE_LIMIT_LOGIN))
        buckets = [self.pair, Bucket("login:address", address, Rate.of(settings.RATE_LIMIT_LOGIN_ADDRESS))]
        known = known_device_users(request)
        if not (known and account and _account_pk(account) in known):
            buckets.append(Bucket("login:account", account, Rate.of(settings.RATE_LIMIT_LOGIN_ACCOUNT)))
        self.decision = ratelimit.reserve(buckets)

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    @property
    def retry_after(self) -> int:
        return self.decision.retry_after

    def succeeded(self, response: HttpResponse, user) -> None:
        ratelimit.release(self.decision)
        ratelimit.reset(self.pair)
        remember_device(self.request, response, user)

    def failed(self) -> None:
        """A wrong password. When it fills a bucket that names the account, that is a burst
        worth telling the owner about (a security event); a refused attempt never gets here,
        so each bucket records it once per window."""
        from accounts.models import User
        from accounts.security_events import ActorKind, Kind, security_event_record

        full = [
            bucket.scope
            for bucket in self.decision.taken
            if bucket.scope in ("login:address+account", "login:account")
            and ratelimit.count(bucket) >= bucket.rate.limit
        ]
        pk = _account_pk(self.account) if full and self.account else None
        if pk is None:
            return
        security_event_record(
            user=User.objects.get(pk=pk),
            kind=Kind.LOGIN_LOCKED,
            request=self.request,
            actor_kind=ActorKind.ANONYMOUS,
            data={"limits": full},
        )

    def limited_page(self, request: HttpRequest) -> HttpResponse:
        response = render(request, "limited.html", {"retry_after": self.retry_after})
        return ratelimit.limited_response(response, self.retry_after)
