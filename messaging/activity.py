"""The owner's activity as a check-in, for the messages that opted in (``Message.activity_resets``).

A log-in to the site (Django's ``user_logged_in``, which ``accounts`` sends only after the whole
log-in, second factor included) or an API call with one of the owner's keys
(``accounts.signals.api_key_used``) resets every waiting message of the owner that asked for
it, each through ``services.message_reset`` (its lock, its state check, the in-flight warning,
its history row naming the activity). ``accounts`` never imports this module: it only sends
the signals; ``MessagingConfig.ready`` connects them here.

Throttle without extra state: only messages whose cycle started more than
``MESSAGING_ACTIVITY_RESET_MINUTES`` ago are reset, so a client polling every second writes one
history row per message per period, and two processes racing on the same log-in both find the
message just reset (``message_reset`` re-reads it under its lock; the second is a no-op guard).

Never raises to the sender: a log-in or an API call must not fail because a message was busy
(``Busy``), moved off the ladder meanwhile (``StateError``), or anything else went wrong; the
message is skipped, logged, and the next activity tries again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from accounts.signals import api_key_used
from cradle_site.errors import Busy, StateError
from messaging import history, services
from messaging.models import Message

logger = logging.getLogger(__name__)

# Keys that can check in may also do it implicitly; a read-only key cannot (a leaked read key
# polling the API must not keep the switch from ever firing).
CHECKIN_SCOPE = "messages:checkin"


def throttle() -> timedelta:
    return timedelta(minutes=settings.MESSAGING_ACTIVITY_RESET_MINUTES)


def messages_due_for_activity(*, owner, now: datetime):
    """The owner's waiting messages that opted in and were not reset within the throttle."""
    return Message.objects.owned_by(owner).filter(
        state=Message.State.ACTIVE, activity_resets=True, cycle_started_at__lte=now - throttle()
    )


def messages_reset_by_activity(*, owner, actor: history.Actor, now: datetime | None = None) -> int:
    """Reset the owner's opted-in waiting messages for ``actor`` (``history.LOG_IN``/``API_CALL``); return how many.

    Never raises: each message is its own ``message_reset`` (its own transaction), and one that
    fails is skipped and logged, so the others and the caller's request go on.
    """
    now = now or timezone.now()
    if owner is None or not owner.is_authenticated or not owner.can_write:
        return 0
    try:
        ids = list(messages_due_for_activity(owner=owner, now=now).order_by("id").values_list("id", flat=True))
    except Exception:
        logger.exception("activity check-in: could not list the messages of owner %s", owner.pk)
        return 0
    done = 0
    for message in Message.objects.filter(pk__in=ids).order_by("id"):
        try:
            # Re-checked under the lock: another process may have reset it since the list was read.
            services.message_reset(message=message, now=now, actor=actor, guard=_still_due(now))
        except (Busy, StateError) as exc:
            logger.info("activity check-in: message %s skipped (%s)", message.pk, type(exc).__name__)
            continue
        except Exception:
            logger.exception("activity check-in: message %s failed", message.pk)
            continue
        done += 1
    return done


def _still_due(now: datetime):
    def guard(locked: Message) -> None:
        if not locked.activity_resets or locked.cycle_started_at > now - throttle():
            raise StateError("reset meanwhile or no longer opted in")

    return guard


@receiver(user_logged_in, dispatch_uid="cradle.messaging.activity.logged_in")
def _on_logged_in(sender, request, user, **kwargs) -> None:
    _after_commit(user, history.LOG_IN)


@receiver(api_key_used, dispatch_uid="cradle.messaging.activity.api_key_used")
def _on_api_key_used(sender, api_key, **kwargs) -> None:
    if CHECKIN_SCOPE not in api_key.scopes:
        return
    _after_commit(api_key.user, history.API_CALL)


def _after_commit(owner, actor: history.Actor) -> None:
    # After the caller's transaction (an ATOMIC_REQUESTS view, the log-in's own writes): the
    # resets never hold the log-in's rows locked and never roll back with it.
    transaction.on_commit(lambda: messages_reset_by_activity(owner=owner, actor=actor))
