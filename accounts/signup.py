"""Sign-up that does not tell a visitor which e-mail addresses or names have accounts.

Whatever is typed, a valid sign-up form gets the same answer: a redirect to "check your
e-mail" (``accounts:signup_sent``). What differs goes to the address, where only its owner
reads it:

- **The address has an account**: nothing is created; the address gets a notice ("someone
  tried to sign up with your address; log in, or reset your password").
- **The address is new**: nothing is created yet either; the address gets a link to
  ``accounts:signup_confirm``, which carries the sign-up (address, name, password *hash*,
  time zone, language) encrypted under the site's Fernet keys and expires after
  ``SIGNUP_LINK_MAX_AGE_HOURS``. Opening it shows the name chosen; if the name is taken
  (already at sign-up, or by someone faster since), that page asks for another one. The
  account is made when the link's page is submitted (a POST: no state change on a GET from
  an e-mail), so every account's address is verified by construction and a typo'd or a
  stranger's address never becomes an account.

So a name's existence is learnt only by someone who can read the mail of a new address and
then pick that name on the confirm page: one e-mail round trip per probe, limited like
sign-up itself. That is as far as a unique public name allows; the address list is not
learnt at all. Both branches hash the password and send one e-mail, so neither is
noticeably faster than the other. The forms never check for existing names or addresses
(``accounts.forms.SignupForm``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.identity import email_key, username_key
from accounts.models import User
from cradle_site import crypto

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingSignup:
    """A sign-up waiting for its address to be confirmed (it lives only in the link)."""

    email: str
    username: str
    password_hash: str
    time_zone: str
    language: str


class SignupRefused(Exception):
    """The confirm step cannot make the account: ``field`` and a sentence for the form."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _account_with_email(email: str) -> User | None:
    key = email_key(email)
    for user in User.objects.filter(email__iexact=email.strip()):
        if email_key(user.email) == key:
            return user
    return None


def signup_request(*, username: str, email: str, password: str, time_zone: str, language: str) -> None:
    """Decide what the address is told, and tell it. The caller answers the same whatever happens."""
    pending = PendingSignup(
        email=email.strip(),
        username=username,
        password_hash=make_password(password),  # also for an existing address: the same work either way
        time_zone=time_zone,
        language=language,
    )
    existing = _account_with_email(pending.email)
    if existing is not None:
        _send(
            "accounts/email/signup_exists",
            to=existing.email,
            language=existing.language or pending.language,
            context={
                "user": existing,
                "login_url": settings.SITE_URL + reverse("accounts:login"),
                "reset_url": settings.SITE_URL + reverse("accounts:password_reset"),
            },
        )
        return
    token = signup_token(pending)
    _send(
        "accounts/email/signup_confirm",
        to=pending.email,
        language=pending.language,
        context={
            "username": pending.username,
            "confirm_url": settings.SITE_URL + reverse("accounts:signup_confirm", args=[token]),
            "hours": settings.SIGNUP_LINK_MAX_AGE_HOURS,
        },
    )


def signup_token(pending: PendingSignup) -> str:
    payload = json.dumps([pending.email, pending.username, pending.password_hash, pending.time_zone, pending.language])
    return crypto.encrypt(payload)


def signup_token_read(token: str) -> PendingSignup | None:
    """The sign-up a link carries, or None when it is forged, garbled or too old."""
    try:
        raw = crypto.fernet().decrypt(token.encode(), ttl=settings.SIGNUP_LINK_MAX_AGE_HOURS * 3600)
        email, username, password_hash, time_zone, language = json.loads(raw)
    except (InvalidToken, ValueError, TypeError):
        return None
    return PendingSignup(email, username, password_hash, time_zone, language)


def signup_complete(*, pending: PendingSignup, username: str) -> User:
    """Make the account the link confirmed, under ``username`` (the one chosen at sign-up or
    another). Refused when the address got an account meanwhile (the link was used) or the
    name reads as a taken one."""
    if _account_with_email(pending.email) is not None:
        raise SignupRefused(None, _("This link has been used: the account exists. Log in instead."))
    if User.objects.filter(username_key=username_key(username)).exists():
        raise SignupRefused("username", _("This name is taken (it reads the same as an existing one)."))
    user = User(
        username=username,
        email=pending.email,
        password=pending.password_hash,
        time_zone=pending.time_zone,
        language=pending.language,
        # The link arrived at this address: it is verified by the same step that creates the
        # account, so warnings can go to it at once (accounts.email_verification).
        email_verified_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same name or address, committed by a request that won the race
        if _account_with_email(pending.email) is not None:
            raise SignupRefused(None, _("This link has been used: the account exists. Log in instead.")) from None
        raise SignupRefused("username", _("This name is taken (it reads the same as an existing one).")) from None
    return user


def _send(template: str, *, to: str, language: str, context: dict) -> None:
    with translation.override(language):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        body = render_to_string(f"{template}.txt", context)
    try:
        send_mail(subject, body, None, [to])
    except Exception:
        # The visitor's answer does not change (it must not: it would tell which branch ran);
        # the failure is for the operator. The person asks again or uses the password reset.
        log.exception("sign-up: the e-mail to an address could not be sent")
