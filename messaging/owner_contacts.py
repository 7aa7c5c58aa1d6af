"""Where the owner's warnings may go: the account e-mail, only once it is verified.

Promise 1 ("never early") counts a warning as sent only when one of the owner's *verified*
contacts accepted it. An owner whose address is not verified (a new sign-up that has not
opened its link, or an address staff changed) has no contact at all, so the warning is
*held*: it stays queued on the message (``warning_email_due_at``), the ladder waits exactly
as it does for a relay outage, and it is looked at again after ``HOLD_SECONDS`` — or at
once when the owner verifies (``accounts.signals.email_verified`` → ``warnings_release``).
A held warning is not "failing" (``/healthz?strict=1`` is for the relay, not for owners who
have not clicked a link): staff find them in the admin (Messages → "warning e-mail: held,
owner's e-mail not verified"; Users → "e-mail verified: no"), and the owner's pages say so.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone

from accounts.signals import email_verified
from messaging.models import Message


def hold_seconds() -> int:
    # Verification releases the warnings at once; this is the safety net's pace (the capped back-off).
    return settings.MESSAGING_RETRY_MAX_SECONDS


def owner_can_be_warned(owner) -> bool:
    return owner.email_verified_at is not None


def warnings_held(queryset=None):
    """Messages (of ``queryset``) whose queued warning waits for the owner to verify their address."""
    return (queryset if queryset is not None else Message.objects.all()).filter(
        state=Message.State.ACTIVE, warning_email_due_at__isnull=False, owner__email_verified_at__isnull=True
    )


def warnings_release(*, owner, now: datetime | None = None) -> int:
    """Make the owner's held warnings due now (they verified); return how many."""
    now = now or timezone.now()
    # Every queued row in the future is held, except one a sender is sending right now (it
    # checked the owner a moment before they verified): that one is left to its sender, or it
    # would go out twice. A sender that claimed one and has not started loses its lease here
    # (its compare-and-set finds this write) and the next run sends it, once.
    held = Message.objects.filter(owner=owner, state=Message.State.ACTIVE, warning_email_due_at__gt=now)
    return held.exclude(warning_email_sending_until__gt=now).update(warning_email_due_at=now)


@receiver(email_verified, dispatch_uid="messaging.owner_contacts.release")
def _on_email_verified(sender, user, **kwargs) -> None:
    warnings_release(owner=user)
