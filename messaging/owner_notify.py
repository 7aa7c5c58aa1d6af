"""Tell the owner something on every contact that works: a contact that stopped working, a test warning.

``owner_notify`` sends one short notice (a subject and a plain-text body, already in the
owner's language) to each verified contact that is not failing — the account e-mail (if
verified and its last warning was not refused for good) and every verified ``OwnerContact``
without ``failing_since`` — except those in ``exclude``. It is best effort, at once, and
returns how many contacts accepted it: a notice is not a warning (the ladder never waits for
one), so a failed notice is logged and not retried. Pause announcements use it too.

``test_warning_send`` is the "Send me a test warning" button: every verified contact (working
or not: the point is to find out), clearly marked as a test, and nothing on any message
changes — no level, no date, no history row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from cradle_site.audit_vocabulary import EventType
from messaging import owner_channels
from messaging.channels import ChannelError
from messaging.owner_channels import Target
from messaging.owner_contact_models import OwnerContact
from ops.audit import audit_record

log = logging.getLogger(__name__)


def _keys(exclude) -> set[str]:
    if exclude is None:
        return set()
    items = (
        exclude if isinstance(exclude, Iterable) and not isinstance(exclude, str | OwnerContact | Target) else [exclude]
    )
    keys = set()
    for item in items:
        keys.add(item if isinstance(item, str) else item.key)
    return keys


def working_targets(owner) -> list[Target]:
    from messaging.escalation import account_failing

    contacts = list(OwnerContact.objects.owned_by(owner).working().order_by("created_at", "id"))
    targets = owner_channels.targets_of(owner, contacts)
    if targets and targets[0].is_account and account_failing(owner):
        targets = targets[1:]
    return targets


def _send_each(targets: list[Target], *, subject: str, body: str, what: str) -> int:
    accepted = 0
    for target in targets:
        try:
            if target.kind == OwnerContact.Kind.EMAIL:
                mail = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL)
                owner_channels.send_email(target, mail, what=what)
            else:
                owner_channels.send_text(target, subject=subject, text=body, what=what)
        except ChannelError as exc:
            log.warning("%s not sent to %s (%s): %s", what, target.key, exc.kind, exc)
            continue
        accepted += 1
    return accepted


def owner_notify(*, owner, subject: str, body: str, exclude=None, every_verified: bool = False) -> int:
    """Send ``subject``/``body`` to every verified working contact of ``owner`` but ``exclude``; return how many took it.

    ``every_verified``: to the failing ones too (a trusted contact's request is worth a try everywhere)."""
    skip = _keys(exclude)
    targets = owner_channels.targets_of(owner) if every_verified else working_targets(owner)
    targets = [t for t in targets if t.key not in skip]
    return _send_each(targets, subject=subject, body=body, what=f"notice to owner {owner.pk}")


def contacts_refused(*, owner, refused: list[Target]) -> int:
    """Tell the owner, on the others, that these contacts refused a warning for good."""
    if not refused:
        return 0
    sent = 0
    for target in refused:
        label = target.address if target.is_account else (target.contact.label or target.contact.get_kind_display())
        subject, body = owner_channels.render_short(
            "contact_failing",
            owner,
            label=label,
            kind=target.kind,
            is_account=target.is_account,
            contacts_url=settings.SITE_URL + _contacts_path(),
        )
        sent += owner_notify(owner=owner, subject=subject, body=body, exclude=refused)
    return sent


def _contacts_path() -> str:
    from django.urls import reverse

    return reverse("messaging:owner_contacts")


def warning_test_send(*, owner) -> dict[str, int]:
    """ "Send me a test warning": to every verified contact, marked as a test; changes nothing.

    ``owner_contacts.TooManyAttempts`` past ``RATE_LIMIT_TEST_WARNING`` (each one reaches every
    contact, and a text message costs the operator money)."""
    from cradle_site import ratelimit
    from messaging.owner_contacts import TooManyAttempts

    rate = ratelimit.Rate.of(settings.RATE_LIMIT_TEST_WARNING)
    decision = ratelimit.reserve([ratelimit.Bucket("owner-contact:test", str(owner.pk), rate)])
    if not decision.allowed:
        raise TooManyAttempts(decision.retry_after)
    targets = owner_channels.targets_of(owner)
    # Recorded: it sends to every contact, which whoever holds the session may not do unseen.
    audit_record(EventType.TEST_WARNING_SENT, user=owner, data={"contacts": len(targets)})
    subject, body = owner_channels.render_short(
        "test_warning", owner, contacts_url=settings.SITE_URL + _contacts_path()
    )
    accepted = _send_each(targets, subject=subject, body=body, what=f"test warning for owner {owner.pk}")
    return {"contacts": len(targets), "accepted": accepted}
