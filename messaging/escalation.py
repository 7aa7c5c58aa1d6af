"""Escalation across channels: which of the owner's contacts each warning goes to, and when it counts.

The policy (the contacts page and the help say the same, in the owner's words):

- **Where.** The account e-mail, once verified, gets every warning. Each other verified
  contact gets the warnings from its ``first_level`` on (by default 3: warnings 1–2 go to the
  e-mail, 3–5 to every verified contact); a message may override that for all contacts
  (``Message.contacts_from_level``). A message's ladder may have fewer warnings than five
  (``messaging.ladder``: the welfare check has three): its final warning goes to every contact
  whose first level is past it. A contact is never warned before it is verified.
- **When it counts.** A warning step counts as *sent* — and the next interval starts, from the
  latest acceptance of this pass — as soon as at least one contact accepted it. Each contact's
  outcome is a ``WarningSend`` row per (message, level, cycle, contact): a contact that
  accepted a warning is never sent it again, whatever happens to the others.
- **Transient failures** (the relay is down, a timeout, an SMTP 4xx, a gateway's 5xx, our own
  credentials): the warning is retried at the back-off (``notices.warning_backoff``), never
  given up; while no contact accepted it the ladder waits, and ``/healthz?strict=1`` and the
  admin show it (``warning_email_attempts`` / ``warning_email_error`` on the message).
- **Permanent failures for an address** (SMTP 550/551/553 for the recipient, Telegram's "chat
  not found"/"bot was blocked", the SMS gateway's invalid number, a push URL's 404/410): the
  contact is marked failing (``OwnerContact.failing_since``), the owner is told on the other
  contacts (``messaging.owner_notify``), and when every contact the warning was routed to
  refused it for good, the same pass goes on to every other verified contact: one dead
  address never stalls the ladder while another works.
- **Owner unreachable on every channel.** When *every* verified contact of the owner has
  refused the same warning for good, without a single other outcome in between, for at least
  ``MESSAGING_UNREACHABLE_GRACE_DAYS`` (default 7) since the last of them started refusing,
  the step counts as sent: the history says so (``OWNER_UNREACHABLE``, with the contacts and
  the dates), staff are alerted (``StaffAlarm`` reason ``unreachable``), and the ladder goes on.
  A transient outcome on any contact starts the wait again, so a relay outage — of a day or of
  thirty — never counts: only addresses that no longer exist do. An owner whose every address
  is gone is the case a dead man's switch exists for.

The step's claim and lease are the message's warning outbox (``messaging.notices``); this
module is called by the sender that holds it, and renews it before each contact (``hold``), so
an answer that ends the cycle stops the sends still to come.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from cradle_site.retry import retry_write
from messaging import ladder
from messaging.channels import ChannelError, FailureKind
from messaging.models import Message
from messaging.owner_channels import Target, targets_of
from messaging.owner_contact_models import ACCOUNT_KEY, OwnerContact, WarningSend


@dataclass
class StepOutcome:
    accepted_at: datetime | None = None  # the latest acceptance: the next interval starts there
    lost: bool = False  # the lease was lost before every send was made (an answer, another worker)
    unreachable_since: datetime | None = None  # set when the all-permanent rule fired
    retry_at: datetime | None = None  # when the all-permanent rule can next fire
    errors: list[str] = field(default_factory=list)
    newly_refused: list[Target] = field(default_factory=list)  # tell the owner on the others
    refused_keys: list[str] = field(default_factory=list)

    @property
    def error(self) -> str:
        return "; ".join(dict.fromkeys(self.errors))


def grace() -> timedelta:
    return timedelta(days=settings.MESSAGING_UNREACHABLE_GRACE_DAYS)


def routed(message: Message, level: int, targets: list[Target]) -> list[Target]:
    """The targets warning ``level`` of ``message`` goes to first (see the module's policy)."""
    override = message.contacts_from_level
    # A ladder of fewer warnings (a preset, a custom one) still ends with its final warning on
    # every contact: a level past the ladder's last counts as the last.
    last = ladder.ladder_of(message).warnings
    chosen = []
    for target in targets:
        first = 1 if target.is_account else (override if override is not None else target.contact.first_level)
        if level >= min(first, last):
            chosen.append(target)
    return chosen


def _rows(message: Message, level: int) -> dict[str, WarningSend]:
    rows = WarningSend.objects.filter(message=message, level=level, cycle_started_at=message.cycle_started_at)
    return {row.contact_key: row for row in rows}


def step_send(
    message: Message,
    *,
    send: Callable[[Target], None],
    hold: Callable[[], bool],
    now: datetime | None = None,
) -> StepOutcome:
    """Send warning ``message.warning_level`` to its contacts; return what happened.

    ``send(target)`` makes one send (raises ``ChannelError``); ``hold()`` renews the caller's
    lease right before it and is False when the lease is no longer ours.
    """
    now = now or timezone.now()
    level = message.warning_level
    outcome = StepOutcome()
    targets = targets_of(message.owner)
    rows = _rows(message, level)
    accepted = [row.accepted_at for row in rows.values() if row.state == WarningSend.State.ACCEPTED]
    if accepted:
        # A pass that sent it and died before the message row said so: it was sent, once.
        outcome.accepted_at = max(accepted)
        return outcome
    first = routed(message, level, targets)
    rest = [t for t in targets if t not in first]
    for batch in (first, rest):
        if batch is rest:
            refused_all = all(
                rows.get(t.key) is not None and rows[t.key].state == WarningSend.State.REFUSED for t in first
            )
            if outcome.accepted_at is not None or not refused_all:
                break
        for target in batch:
            if not hold():
                outcome.lost = True
                return outcome
            rows[target.key] = _send_one(message, target, rows.get(target.key), send, outcome)
    if outcome.accepted_at is None and targets:
        _check_unreachable(targets, rows, outcome, now)
    return outcome


def _send_one(
    message: Message, target: Target, row: WarningSend | None, send: Callable[[Target], None], outcome: StepOutcome
) -> WarningSend:
    try:
        send(target)
    except ChannelError as exc:
        at = timezone.now()
        permanent = exc.kind == FailureKind.PERMANENT
        outcome.errors.append(_sentence(exc))
        was_refused = row is not None and row.state == WarningSend.State.REFUSED
        fields = {
            "state": WarningSend.State.REFUSED if permanent else WarningSend.State.RETRYING,
            "error_kind": str(exc.kind),
            "last_error": _sentence(exc)[:500],
            # The wait of the all-permanent rule counts from the first refusal of an unbroken run.
            "permanent_since": ((row.permanent_since if was_refused else None) or at) if permanent else None,
        }
        row = _write(message, target, row, at=at, **fields)
        if permanent:
            outcome.refused_keys.append(target.key)
            if _mark_failing(message, target, at, fields["last_error"]):
                outcome.newly_refused.append(target)
        return row
    at = timezone.now()
    outcome.accepted_at = max(outcome.accepted_at or at, at)
    row = _write(
        message,
        target,
        row,
        at=at,
        state=WarningSend.State.ACCEPTED,
        accepted_at=at,
        permanent_since=None,
        error_kind="",
        last_error="",
    )
    if target.contact is not None and target.contact.failing_since is not None:
        OwnerContact.objects.filter(pk=target.contact.pk).update(failing_since=None, failing_error="")
    return row


def _sentence(exc: ChannelError) -> str:
    # The e-mail sentences come from cradle_site.mail_errors already; the others say the channel.
    return str(exc)


def _write(message: Message, target: Target, row: WarningSend | None, *, at: datetime, **fields) -> WarningSend:
    """Record one contact's outcome at once (a crash later must not resend an accepted warning)."""

    def write() -> WarningSend:
        if row is not None:
            WarningSend.objects.filter(pk=row.pk).update(attempts=row.attempts + 1, updated_at=at, **fields)
            row.attempts += 1
            for name, value in fields.items():
                setattr(row, name, value)
            return row
        try:
            return WarningSend.objects.create(
                message=message,
                level=message.warning_level,
                cycle_started_at=message.cycle_started_at,
                contact=target.contact,
                contact_key=target.key,
                attempts=1,
                updated_at=at,
                **fields,
            )
        except IntegrityError:  # a worker whose lease ran out wrote it meanwhile: ours is the newer fact
            existing = WarningSend.objects.get(
                message=message,
                level=message.warning_level,
                cycle_started_at=message.cycle_started_at,
                contact_key=target.key,
            )
            WarningSend.objects.filter(pk=existing.pk).update(updated_at=at, **fields)
            return existing

    return retry_write(write, seconds=settings.MESSAGING_BOOKKEEPING_RETRY_SECONDS)


def _mark_failing(message: Message, target: Target, at: datetime, error: str) -> bool:
    """Mark the contact failing; True when it was not failing before (the owner is told once)."""
    if target.contact is not None:
        return bool(
            OwnerContact.objects.filter(pk=target.contact.pk, failing_since__isnull=True).update(
                failing_since=at, failing_error=error
            )
        )
    # The account e-mail has no row of its own: its last outcome says whether it was failing.
    previous = (
        WarningSend.objects.filter(message__owner=message.owner, contact_key=ACCOUNT_KEY)
        .exclude(message=message, level=message.warning_level, cycle_started_at=message.cycle_started_at)
        .order_by("-updated_at", "-id")
        .values_list("state", flat=True)
        .first()
    )
    return previous != WarningSend.State.REFUSED


def account_failing(owner) -> bool:
    """The account e-mail's last warning was refused for good."""
    state = (
        WarningSend.objects.filter(message__owner=owner, contact_key=ACCOUNT_KEY)
        .order_by("-updated_at", "-id")
        .values_list("state", flat=True)
        .first()
    )
    return state == WarningSend.State.REFUSED


def _check_unreachable(
    targets: list[Target], rows: dict[str, WarningSend], outcome: StepOutcome, now: datetime
) -> None:
    refusals = [rows.get(t.key) for t in targets]
    if any(row is None or row.state != WarningSend.State.REFUSED or row.permanent_since is None for row in refusals):
        return
    since = max(row.permanent_since for row in refusals)
    if timezone.now() >= since + grace():
        outcome.unreachable_since = since
    else:
        outcome.retry_at = since + grace()
