"""The account e-mail: verified by a link before Cradle warns through it, changed only by a
link sent to the new address, and every change announced to the old one.

Links carry a signed, timestamped token (``django.core.signing``, salted per purpose,
valid ``ACCOUNT_EMAIL_LINK_DAYS``) and nothing is stored: the token names the user, the
address it is for, and a fingerprint of the account's e-mail state (address + when it was
verified). Using a link changes that state, so each link works once, and an older link dies
when a newer change goes through. Opening a link needs the account's session and a POST:
a mail scanner that fetches every link, or a stranger who received a mistyped address's
mail, cannot verify an address on the owner's behalf.

Until the address is verified, messaging holds the owner's warnings and the ladder waits
(``messaging.owner_contacts``); ``accounts.signals.email_verified`` lets it release them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from accounts.identity import email_key
from accounts.models import User
from accounts.security_events import Kind, security_event_record
from accounts.signals import email_verified
from cradle_site import ratelimit
from cradle_site.ratelimit import Bucket, Rate

VERIFY = "cradle.accounts.email-verify"
CHANGE = "cradle.accounts.email-change"


class EmailLinkError(Exception):
    """The link is bad, expired, used, or for another account; the text is safe to show."""


@dataclass(frozen=True)
class EmailLink:
    user_id: int
    email: str


def _state(user: User) -> str:
    verified = user.email_verified_at.isoformat() if user.email_verified_at else "-"
    return salted_hmac("cradle.accounts.email-state", f"{user.pk}\0{user.email}\0{verified}").hexdigest()[:20]


def _token(user: User, email: str, purpose: str) -> str:
    return signing.dumps({"u": user.pk, "e": email, "s": _state(user)}, salt=purpose, compress=True)


def _read(token: str, purpose: str, user: User) -> EmailLink:
    from django.utils.translation import gettext as _

    try:
        value = signing.loads(token, salt=purpose, max_age=settings.ACCOUNT_EMAIL_LINK_DAYS * 86400)
    except signing.SignatureExpired:
        raise EmailLinkError(_("This link has expired. Ask for a new one.")) from None
    except signing.BadSignature:
        raise EmailLinkError(_("This link is not valid.")) from None
    if not isinstance(value, dict) or value.get("u") != user.pk:
        raise EmailLinkError(_("This link is for another account. Log in as that account to use it."))
    if value.get("s") != _state(user):
        raise EmailLinkError(_("This link has already been used, or a newer change replaced it."))
    return EmailLink(user_id=user.pk, email=str(value.get("e", "")))


def email_verification_token(user: User) -> str:
    return _token(user, user.email, VERIFY)


def email_change_token(user: User, new_email: str) -> str:
    return _token(user, new_email, CHANGE)


def _send(user: User, to: str, template: str, **context) -> None:
    with translation.override(user.language), timezone.override(user.time_zone):
        context = {"user": user, "site_url": settings.SITE_URL, **context}
        subject = " ".join(render_to_string(f"accounts/email/{template}_subject.txt", context).split())
        body = render_to_string(f"accounts/email/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


def _link(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, args=[token])


def email_send_limited(user: User, scope: str, rate) -> int:
    """Count one e-mail sent for ``user`` under ``scope``; seconds to wait when over the rate, else 0."""
    decision = ratelimit.reserve([Bucket(scope, str(user.pk), Rate.of(rate))])
    return 0 if decision.allowed else decision.retry_after


def email_verification_send(*, user: User) -> None:
    """Mail the link that verifies ``user.email`` (sign-up, and "send the link again")."""
    if user.email_verified_at is not None:
        return
    _send(user, user.email, "verify_email", link=_link("accounts:email_verify", email_verification_token(user)))


def email_verify(*, user: User, token: str, request: HttpRequest | None = None) -> None:
    """Mark the address verified by the link's token; ``EmailLinkError`` for a bad link."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        link = _read(token, VERIFY, user)
        if email_key(link.email) != email_key(user.email):
            from django.utils.translation import gettext as _

            raise EmailLinkError(_("This link is for an address that is no longer your account's."))
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        security_event_record(user=user, kind=Kind.EMAIL_VERIFIED, request=request, data={"email": user.email})
        transaction.on_commit(lambda: email_verified.send(sender=User, user=user))


def email_change_request(*, user: User, new_email: str, request: HttpRequest | None = None) -> None:
    """Mail a confirmation link to ``new_email``; the account keeps its address until it is opened."""
    security_event_record(user=user, kind=Kind.EMAIL_CHANGE_REQUESTED, request=request, data={"new_email": new_email})
    _send(
        user,
        new_email,
        "change_email",
        new_email=new_email,
        link=_link("accounts:email_change_confirm", email_change_token(user, new_email)),
    )


def email_change_confirm(*, user: User, token: str, request: HttpRequest | None = None) -> str:
    """Change the address to the one the link was sent to (so it is verified too); tell the old one."""
    from django.utils.translation import gettext as _

    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        link = _read(token, CHANGE, user)
        if User.objects.filter(email__iexact=link.email).exclude(pk=user.pk).exists():
            raise EmailLinkError(_("Another account uses this address now."))
        old, was_verified = user.email, user.email_verified_at is not None
        user.email, user.email_verified_at = link.email, timezone.now()
        user.save(update_fields=["email", "email_verified_at"])
        security_event_record(
            user=user, kind=Kind.EMAIL_CHANGED, request=request, data={"old_email": old, "new_email": user.email}
        )
        transaction.on_commit(lambda: _send(user, old, "email_changed_notice", old_email=old, new_email=user.email))
        if not was_verified:
            transaction.on_commit(lambda: email_verified.send(sender=User, user=user))
    return user.email


def staff_change_announce(
    *, user: User, staff: User, old_email: str | None, password: bool, request=None, record: bool = True
) -> None:
    """A staff member changed ``user``'s e-mail or password in the back office: record it and tell them.

    The e-mail goes to the old address for an address change (the new one may not be theirs);
    the new address is unverified until they open the link sent to it.
    """
    if old_email is not None:
        if record:  # False: the admin recorded it in its own transaction (accounts.admin)
            staff_email_change_record(user=user, staff=staff, old_email=old_email, request=request)
        _send(user, old_email, "staff_changed_notice", what="email", old_email=old_email, new_email=user.email)
        email_verification_send(user=user)
    if password:
        security_event_record(user=user, kind=Kind.STAFF_CHANGED_PASSWORD, request=request, actor=staff, obj=user)
        _send(user, user.email, "staff_changed_notice", what="password")


def staff_email_change_record(*, user: User, staff: User, old_email: str, request=None, changed=None) -> None:
    """The audit event of a staff member changing ``user``'s address (the one event of that edit)."""
    security_event_record(
        user=user,
        kind=Kind.STAFF_CHANGED_EMAIL,
        request=request,
        actor=staff,
        obj=user,
        changed=changed,
        data={"old_email": old_email, "new_email": user.email},
    )
