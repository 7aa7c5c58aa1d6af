"""Pauses ("away until ..."): the owner's warnings, for every message or one, wait until a date.

The policy:
- A pause ends at most ``MESSAGING_PAUSE_MAX_DAYS`` ahead (90 by default) and can be ended
  early. Setting a new pause for the same messages replaces the one in force.
- While it is in force, nothing happens to a message it covers: no warning is sent and no
  step is taken, so nothing is delivered. ``Message.paused_until`` carries the end (the
  latest of the pauses in force that cover it), and the sweep (``Message.objects.due`` and
  every UPDATE it makes) and the warning sender read it. It is written under the message's
  row lock, the lock the answers and the sweep take, so a pause and a step cannot both win.
- When it ends, the ladder resumes with the full interval before the next step: the next
  warning (or the delivery after the final one) comes one whole interval after the end -
  the first delay at level 0, else the interval after the warning last sent. A ladder or
  delay changed after the end keeps that (``paused_until`` keeps the end: ``keep_held``). A warning that
  was queued and not yet sent when the pause began goes out when it ends.
- A pause covers only messages on their ladder: one already being delivered is past it
  (revoke it instead). A pause of all messages holds those written during it too.
- Each one is logged in every covered message's history and announced to the owner
  (``messaging.owner_notify``), so whoever takes over an account cannot pause silently.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from cradle_site.audit_vocabulary import EventType
from cradle_site.errors import Busy, StateError
from cradle_site.retry import retry_on_deadlock
from messaging import history, ladder, notices
from messaging.models import Message, Pause, StatusLog
from messaging.owner_notify import owner_notify
from ops.audit import audit_record

_FIELDS = ["paused_until", "next_warning_date", "warning_email_due_at", "updated_at"]


def max_until(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=settings.MESSAGING_PAUSE_MAX_DAYS)


def clean_until(until: datetime | None, *, now: datetime) -> datetime:
    """The end of a pause, or ``ValidationError`` keyed ``until``."""
    if until is None:
        raise ValidationError({"until": _("Say until when.")})
    if timezone.is_naive(until):
        until = timezone.make_aware(until)
    if until <= now:
        raise ValidationError({"until": _("Choose a time in the future.")})
    if until > max_until(now):
        raise ValidationError(
            {"until": _("A pause can last at most %(days)d days.") % {"days": settings.MESSAGING_PAUSE_MAX_DAYS}}
        )
    return until


def _apply(locked: Message, target: datetime | None, now: datetime) -> bool:
    """Hold ``locked`` until ``target`` (None or past: release it); True when anything changed."""
    interval = ladder.ladder_of(locked).interval_before_next(locked.warning_level)
    held = locked.paused_until is not None and locked.paused_until > now
    if target is not None and target > now:
        # A pause already in force set the date from its own end: a new end replaces it, earlier or later.
        locked.next_warning_date = target + interval if held else max(locked.next_warning_date, target + interval)
        if locked.warning_email_due_at is not None:
            locked.warning_email_due_at = target  # queued, not sent: it goes out when the pause ends
        locked.paused_until = target
        return True
    if held:
        locked.next_warning_date = now + interval
        if locked.warning_email_due_at is not None:
            locked.warning_email_due_at = now
        # Ended now, not forgotten: keep_held still reads when the last pause ended.
        locked.paused_until = now
        return True
    return False


def keep_held(locked: Message, *, now: datetime) -> None:
    """After a reset or a new delay or ladder: never sooner than the full interval after a pause.

    While a pause is in force the message waits for its end; after one ended (on its date or
    early: ``paused_until`` keeps that time), a first delay changed at level 0 still counts
    from the end, as the pause promised - a shorter ladder chosen after a pause must not bring
    a warning sooner than the full interval after it. After a reset this changes nothing (the
    reset's own ``now + first`` is later than any pause that has ended).
    """
    if locked.paused_until is not None:
        interval = ladder.ladder_of(locked).interval_before_next(locked.warning_level)
        locked.next_warning_date = max(locked.next_warning_date, locked.paused_until + interval)


def hold_new_message(message: Message, *, now: datetime) -> bool:
    """A message written during a pause of all the owner's messages waits for it (not saved here)."""
    until = (
        Pause.objects.in_force(now)
        .filter(owner=message.owner, message__isnull=True)
        .order_by("-until")
        .values_list("until", flat=True)
        .first()
    )
    if until is None:
        return False
    return _apply(message, until, now)


def _targets(owner, message_ids: list[int], now: datetime) -> dict[int, datetime]:
    """For each message, the latest end of the pauses in force that cover it."""
    rows = (
        Pause.objects.in_force(now).filter(owner=owner).filter(Q(message__isnull=True) | Q(message_id__in=message_ids))
    )
    every = None
    own: dict[int, datetime] = {}
    for message_id, until in rows.values_list("message_id", "until"):
        if message_id is None:
            every = max(every, until) if every else until
        else:
            own[message_id] = max(own.get(message_id, until), until)
    return {i: max(t for t in (every, own.get(i)) if t) for i in message_ids if every or i in own}


def _covered(owner, message: Message | None):
    queryset = Message.objects.owned_by(owner).filter(state=Message.State.ACTIVE)
    if message is not None:
        queryset = queryset.filter(pk=message.pk)
    return queryset.select_for_update().order_by("id")


def _settle(owner, message: Message | None, now: datetime, fields) -> int:
    """Under the lock of every covered message, write what the pauses in force now say."""
    from messaging.services import _SendUnderWay  # the answers' own "a warning is on its way"

    locked = list(_covered(owner, message))
    for row in locked:
        if notices.warning_send_under_way(row, now=timezone.now()):
            raise _SendUnderWay("a warning e-mail for this message is being sent")
    targets = _targets(owner, [m.pk for m in locked], now)
    logs = []
    for row in locked:
        if _apply(row, targets.get(row.pk), now):
            row.updated_at = now
            Message.objects.filter(pk=row.pk).update(**{name: getattr(row, name) for name in _FIELDS})
        logs.append(StatusLog(message=row, created_at=now, **fields))
    StatusLog.objects.bulk_create(logs)
    return len(locked)


def _after_sends(run):
    """Run ``run`` once no warning it covers is being sent (the rule of messaging.services.message_reset)."""
    from messaging.services import _SendUnderWay

    deadline = time.monotonic() + settings.MESSAGING_ANSWER_WAIT_SECONDS
    while True:
        try:
            return retry_on_deadlock(run)
        except _SendUnderWay as exc:
            if time.monotonic() >= deadline:
                raise Busy(*exc.args) from exc
            time.sleep(0.05)


def pause_start(
    *,
    owner,
    until: datetime | None,
    message: Message | None = None,
    now: datetime | None = None,
    actor: history.Actor = history.OWNER,
) -> Pause:
    """Pause every message of ``owner`` (or ``message``) until ``until``; replaces the pause in force for the same."""
    now = now or timezone.now()
    until = clean_until(until, now=now)
    if message is not None and message.state != Message.State.ACTIVE:
        raise StateError(_("Only a message that is still on its warning schedule can be paused."))

    def run() -> Pause:
        with transaction.atomic():
            Pause.objects.in_force(now).filter(owner=owner, message=message).update(ended_at=now)
            pause = Pause.objects.create(owner=owner, message=message, until=until, created_at=now)
            fields = history.paused(until=until, all_messages=message is None, actor=actor)
            _settle(owner, message, now, fields)
            audit_record(
                EventType.MESSAGE_PAUSED,
                user=owner,
                obj=message or pause,
                actor=history.audit_actor(actor),  # None (the request's) but for a trusted contact
                data={"all_messages": message is None, "until": until.isoformat()},
            )
            transaction.on_commit(lambda: _announce(pause, started=True))
        return pause

    pause = _after_sends(run)
    banner_forget(owner)
    return pause


def pause_end(*, pause: Pause, now: datetime | None = None, actor: history.Actor = history.OWNER) -> Pause:
    """End a pause in force now; its messages resume with the full interval from now."""
    now = now or timezone.now()

    def run() -> Pause:
        with transaction.atomic():
            moved = Pause.objects.in_force(now).filter(pk=pause.pk).update(ended_at=now)
            if not moved:
                raise StateError(_("This pause is over already."))
            fields = history.pause_ended(all_messages=pause.message_id is None, actor=actor)
            _settle(pause.owner, pause.message, now, fields)
            audit_record(
                EventType.PAUSE_ENDED,
                user=pause.owner_id,
                obj=pause.message or pause,
                data={"all_messages": pause.message_id is None},
            )
            transaction.on_commit(lambda: _announce(pause, started=False))
        return pause

    _after_sends(run)
    pause.ended_at = now
    banner_forget(pause.owner)
    return pause


def _announce(pause: Pause, *, started: bool) -> None:
    owner = pause.owner
    with translation.override(owner.language), timezone.override(owner.time_zone):
        until = formats.date_format(timezone.localtime(pause.until), "DATETIME_FORMAT")
        which = _("all your messages") if pause.message_id is None else _("one of your messages")
        if started:
            subject = _("Cradle: your warnings are paused")
            body = _(
                "Warnings for %(which)s are paused until %(until)s (%(zone)s): nothing is sent or delivered "
                "before then.\n\nIf you did not do this, log in now, end the pause and change your password."
            ) % {"which": which, "until": until, "zone": owner.time_zone}
        else:
            subject = _("Cradle: your pause has ended")
            body = _(
                "The pause of warnings for %(which)s was ended early. The warning schedule goes on from now, "
                "with the full interval before the next warning.\n\nIf you did not do this, log in now."
            ) % {"which": which}
    owner_notify(owner=owner, subject=subject, body=body)


# The banner on every page: from the cache, so a page costs no query for it.
def _banner_key(owner) -> str:
    return f"messaging:pause-banner:{owner.pk}"


def banner_forget(owner) -> None:
    cache.delete(_banner_key(owner))


def banner_for(owner, *, now: datetime | None = None) -> dict | None:
    """``{"until", "all_messages", "count"}`` of the owner's pauses in force, or None."""
    now = now or timezone.now()
    cached = cache.get(_banner_key(owner))
    if cached is None:
        rows = list(Pause.objects.in_force(now).filter(owner=owner).values_list("message_id", "until"))
        if rows:
            cached = {
                "until": max(u for _m, u in rows),
                "ends": min(u for _m, u in rows),
                "all_messages": any(m is None for m, _u in rows),
                "all_until": max((u for m, u in rows if m is None), default=None),
                "count": len(rows),
            }
            timeout = max(1, int((cached["ends"] - now).total_seconds()))
        else:
            cached = {}
            timeout = 60  # a pause set in another process (a local-memory cache) shows within a minute
        cache.set(_banner_key(owner), cached, min(timeout, 3600))
    if not cached or cached["ends"] <= now:
        if cached:
            banner_forget(owner)
            return banner_for(owner, now=now)
        return None
    return cached
