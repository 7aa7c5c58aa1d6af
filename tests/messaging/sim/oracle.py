"""The simulation's oracle: the four promises, judged from what the simulation did and saw.

It is told every answer the simulation gave and whether the site acknowledged it, and it
reads what the far ends accepted (``doubles.Accepted``). From those alone, and from the
ladder the simulation configured (days per month, days after each warning) - never from
``messaging.ladder`` or the services - it decides, for every message:

1. never early: a delivery needs warnings 1..n of the message's ladder (the seed's, a preset
   or a custom one, as the simulation chose it: offsets in seconds) to the owner after the
   last acknowledged reset (or the creation), the first at least the first delay after it and
   each next one at least its interval after the previous one was *accepted by the relay*,
   and the delivery at least the last interval after warning n (and each warning states a
   deadline no earlier than that);
1b. pauses: nothing (warning or delivery) reaches anyone for a message while a pause that
   covers it is in force (from its acknowledgement until its end, or until it was ended or
   replaced), and a step that could not yet be due when the pause began comes at least its
   whole interval after the pause's end;
2. never twice: each address at most one copy, unless every copy carries the same delivery
   id and each earlier copy was one the sender could not know arrived (``ambiguous``);
3. never after: nothing accepted after a revoke was acknowledged, nothing for an address
   the owner had removed, nothing during a pause in force (1b), and no answer answered with a 500;
4. never dropped or stuck (``final_check``, after the faults end and the cluster ran long
   enough): every message not revoked is delivered to every recipient it names, nothing
   is left ``delivering``/``sending``, no warning e-mail is left queued.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.messaging.sim.contacts import unreachable_earliest
from tests.messaging.sim.doubles import Accepted

WARNING_SUBJECT = re.compile(r"warning (\d) of (\d)")
DAY = 86400
# "the next step happens on Sept. 1, 2025, 4:37 p.m. (UTC)" - Django's English DATETIME_FORMAT, minutes.
STATED_DEADLINE = re.compile(
    r"next step happens on (\w+)\.? (\d+), (\d{4}), (noon|midnight|(\d+)(?::(\d+))? ([ap])\.m\.) \(UTC\)"
)
MONTHS = {
    name: n
    for n, name in enumerate(
        ["Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sept", "Oct", "Nov", "Dec"], 1
    )
}
FINAL_SUBJECT = "final warning"
DETAIL_URL = re.compile(r"/messages/(\d+)/")


@dataclass(frozen=True)
class Violation:
    promise: str  # "early", "twice", "after", "dropped", "stuck", "answer"
    pk: int | None
    text: str

    def __str__(self) -> str:
        return f"[{self.promise}] message {self.pk}: {self.text}"


@dataclass
class Warning_:
    pk: int
    level: int
    at: datetime
    order: int
    body: str
    to: str = ""  # which of the owner's contacts accepted it
    delivery_id: str = ""  # a push contact's Idempotency-Key
    ambiguous: bool = False  # the sender was told it failed (a timeout after the far end took it)


@dataclass
class Tracked:
    pk: int
    owner_email: str
    revocation_key: str
    # (order, value) histories: a value is in force from the order it was acknowledged at.
    months: list[tuple[int, int]] = field(default_factory=list)
    recipients: list[tuple[int, frozenset[str]]] = field(default_factory=list)
    cycle_starts: list[tuple[int, datetime]] = field(default_factory=list)
    revoked_order: int | None = None
    permanent_failures: set[str] = field(default_factory=set)
    # (order, offsets in seconds: [before warning 1, after warning 1, ..., after the last]).
    ladders: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    pause_ids: list[int] = field(default_factory=list)  # the pauses that cover it
    # What happened to it, in order: (order, simulated time, what) - shown when it breaks a promise.
    events: list[tuple[int, datetime, str]] = field(default_factory=list)

    def value_before(self, history: list, order: int):
        value = history[0][1]
        for at_order, item in history:
            if at_order < order:
                value = item
        return value

    @property
    def final_recipients(self) -> frozenset[str]:
        return self.recipients[-1][1]

    def event(self, order: int, at: datetime, text: str) -> None:
        self.events.append((order, at, text))


@dataclass
class PauseRecord:
    """A pause the site acknowledged: in force from ``order`` until ``until``, or until ended (or replaced)."""

    pk: int
    owner_email: str
    message: int | None  # None: every message of the owner (those written during it too)
    at: datetime
    order: int
    until: datetime
    ended_at: datetime | None = None
    ended_order: int | None = None

    @property
    def end(self) -> datetime:
        return min(self.until, self.ended_at) if self.ended_at is not None else self.until

    def in_force(self, at: datetime, order: int) -> bool:
        return self.order < order and at < self.until and (self.ended_order is None or order < self.ended_order)


class Oracle:
    def __init__(
        self,
        *,
        days_per_month: int,
        ladder_days: list[int],
        staff_emails: set[str] = frozenset(),
        grace_days: float = 7,
    ) -> None:
        self.days_per_month = days_per_month
        self.ladder_days = list(ladder_days)
        self.messages: dict[int, Tracked] = {}
        self.address_owner: dict[str, int] = {}  # recipient address or URL -> message pk
        self.owner_emails: set[str] = set()
        # Owners who never verify their address: nothing of theirs may ever go out.
        self.unverified_emails: set[str] = set()
        self.warnings: dict[int, list[Warning_]] = defaultdict(list)
        self.deliveries: dict[str, list[Accepted]] = defaultdict(list)
        self.notices: list[Accepted] = []
        self.staff_emails = set(staff_emails)
        self.staff_alarms: list[Accepted] = []  # e-mails to ADMINS
        self.violations: list[Violation] = []
        self._flagged: set[Violation] = set()
        self.answers = Counter()  # (how, kind, outcome) -> count
        self.pauses: dict[int, PauseRecord] = {}
        # The owners' own contacts (sim/contacts.py): address -> the owner's account e-mail, and
        # the owners every contact of whom refuses for good: e-mail -> (order, time) it began.
        self.contact_owner: dict[str, str] = {}
        self.owner_gone: dict[str, tuple[int, datetime]] = {}
        self.grace = timedelta(days=grace_days)

    def seed_ladder(self, months: int) -> tuple[int, ...]:
        return (months * self.days_per_month * DAY, *(d * DAY for d in self.ladder_days))

    @staticmethod
    def ladder_before(tracked: Tracked, order: int) -> tuple[int, ...]:
        return tracked.value_before(tracked.ladders, order)

    def _flag(self, violation: Violation) -> None:
        if violation not in self._flagged:  # one line per fact, not per recipient who shows it
            self._flagged.add(violation)
            self.violations.append(violation)

    # What the simulation did --------------------------------------------------------------
    def created(
        self,
        *,
        pk: int,
        owner_email: str,
        key: str,
        months: int,
        addresses: set[str],
        at: datetime,
        order: int,
        ladder: tuple[int, ...] | None = None,
        ladder_name: str = "seed",
    ) -> None:
        """``ladder``: its offsets in seconds (None: the seed's, from ``months``)."""
        tracked = Tracked(pk=pk, owner_email=owner_email, revocation_key=key)
        tracked.months.append((order, months))
        tracked.recipients.append((order, frozenset(addresses)))
        tracked.cycle_starts.append((order, at))
        tracked.ladders.append((order, tuple(ladder) if ladder else self.seed_ladder(months)))
        tracked.event(order, at, f"created: ladder {ladder_name} {tracked.ladders[-1][1]} s, to {sorted(addresses)}")
        self.messages[pk] = tracked
        self.owner_emails.add(owner_email)
        for address in addresses:
            self.address_owner[address] = pk
        for pause in self.pauses.values():
            # Written during a pause of all the owner's messages: it waits for it too.
            if pause.owner_email == owner_email and pause.message is None and pause.in_force(at, order + 1):
                tracked.pause_ids.append(pause.pk)
                tracked.event(order, at, f"held by pause {pause.pk} (all messages) until {pause.until}")

    def edited(
        self,
        *,
        pk: int,
        months: int,
        addresses: set[str],
        order: int,
        ladder: tuple[int, ...] | None = None,
        at: datetime | None = None,
    ) -> None:
        tracked = self.messages[pk]
        tracked.months.append((order, months))
        tracked.recipients.append((order, frozenset(addresses)))
        tracked.ladders.append((order, tuple(ladder) if ladder else self.seed_ladder(months)))
        tracked.event(order, at or tracked.cycle_starts[0][1], f"edited: ladder {tracked.ladders[-1][1]} s")
        for address in addresses:
            self.address_owner[address] = pk

    def paused(
        self,
        *,
        pk: int,
        owner_email: str,
        message: int | None,
        until: datetime,
        at: datetime,
        order: int,
        covered: set[int],
    ) -> None:
        """An acknowledged pause; ``covered``: the messages it holds (those on their ladder when it began)."""
        for other in self.pauses.values():
            # A new pause for the same messages replaces the one in force.
            if other.owner_email == owner_email and other.message == message and other.in_force(at, order):
                other.ended_at, other.ended_order = at, order
        record = PauseRecord(pk=pk, owner_email=owner_email, message=message, at=at, order=order, until=until)
        self.pauses[pk] = record
        which = "all messages" if message is None else f"message {message}"
        for covered_pk in covered:
            tracked = self.messages.get(covered_pk)
            if tracked is not None:
                tracked.pause_ids.append(pk)
                tracked.event(order, at, f"pause {pk} ({which}) until {until}")

    def pause_ended(self, *, pk: int, at: datetime, order: int) -> None:
        record = self.pauses[pk]
        if record.ended_order is None and at < record.until:
            record.ended_at, record.ended_order = at, order
        for tracked in self.messages.values():
            if pk in tracked.pause_ids:
                tracked.event(order, at, f"pause {pk} ended early")

    def _pause_in_force(self, tracked: Tracked, item: Accepted) -> PauseRecord | None:
        for pause_pk in tracked.pause_ids:
            pause = self.pauses[pause_pk]
            if pause.in_force(item.at, item.order):
                return pause
        return None

    def answered(self, *, pk: int, how: str, kind: str, acknowledged: bool, at: datetime, order: int) -> None:
        self.answers[(how, kind, "ok" if acknowledged else "refused")] += 1
        if not acknowledged:
            return
        tracked = self.messages[pk]
        tracked.event(order, at, f"{kind} by {how}")
        if kind == "reset":
            tracked.cycle_starts.append((order, at))
        elif kind == "revoke" and tracked.revoked_order is None:
            tracked.revoked_order = order

    def answer_failed(self, *, pk: int, how: str, kind: str, status: int, detail: str) -> None:
        self.answers[(how, kind, f"HTTP {status}")] += 1
        self._flag(Violation("answer", pk, f"{how} {kind} answered HTTP {status}: {detail[:300]}"))

    # What the far ends saw -------------------------------------------------------------------
    def observe(self, items: list[Accepted]) -> list[Warning_]:
        """Take in what the far ends accepted; return the new warnings (the owners may answer them)."""
        new_warnings = []
        for item in items:
            if item.to in self.staff_emails:
                self.staff_alarms.append(item)
            elif item.to in self.unverified_emails:
                self._flag(Violation("early", None, f"a warning reached the unverified address {item.to}"))
            elif item.to in self.owner_emails or item.to in self.contact_owner:
                warning = self._as_warning(item)
                if warning is None:
                    self.notices.append(item)
                else:
                    self.warnings[warning.pk].append(warning)
                    new_warnings.append(warning)
            elif item.to in self.address_owner:
                self._delivered(item)
            else:
                self._flag(Violation("after", None, f"something reached an unknown address {item.to}"))
        return new_warnings

    def _as_warning(self, item: Accepted) -> Warning_ | None:
        # A push contact's POST has no subject: its body's first line is the subject.
        subject = (item.subject or item.body.split("\n", 1)[0]).lower()
        found = WARNING_SUBJECT.search(subject)
        if found is None and FINAL_SUBJECT not in subject:
            return None
        detail = DETAIL_URL.search(item.body)
        if detail is None:
            self._flag(Violation("early", None, f"a warning without a message link: {item.subject!r}"))
            return None
        pk = int(detail.group(1))
        tracked = self.messages.get(pk)
        warnings = len(self.ladder_before(tracked, item.order)) - 1 if tracked else 5
        level = int(found.group(1)) if found else warnings
        if found and int(found.group(2)) != warnings:
            self._flag(Violation("early", pk, f"{item.subject!r}: the ladder has {warnings} warnings"))
        warning = Warning_(
            pk=pk,
            level=level,
            at=item.at,
            order=item.order,
            body=item.body,
            to=item.to,
            delivery_id=item.delivery_id,
            ambiguous=item.ambiguous,
        )
        if tracked is not None:
            tracked.event(item.order, item.at, f"warning {level} of {warnings} accepted")
            pause = self._pause_in_force(tracked, item)
            if pause is not None:
                self._flag(
                    Violation("pause", pk, f"warning {level} reached the owner at {item.at} during pause {pause.pk}")
                )
        self._check_deadline(warning)
        return warning

    def _check_deadline(self, warning: Warning_) -> None:
        """The deadline a warning states is its real one: no earlier than when it was sent plus its interval."""
        stated = stated_deadline(warning.body)
        if stated is None:
            return  # another language or time zone: not read
        tracked = self.messages.get(warning.pk)
        gaps = self.ladder_before(tracked, warning.order)[1:] if tracked else [d * DAY for d in self.ladder_days]
        if warning.level > len(gaps):
            return
        earliest = warning.at + timedelta(seconds=gaps[warning.level - 1])
        if stated < earliest.replace(second=0, microsecond=0):
            self._flag(
                Violation(
                    "deadline",
                    warning.pk,
                    f"warning {warning.level} sent {warning.at} states the next step at {stated}, "
                    f"{earliest - stated} before it can happen",
                )
            )

    def _delivered(self, item: Accepted) -> None:
        pk = self.address_owner[item.to]
        tracked = self.messages[pk]
        copies = self.deliveries[item.to]
        copies.append(item)
        tracked.event(item.order, item.at, f"delivered to {item.to} (id {item.delivery_id or '-'})")
        pause = self._pause_in_force(tracked, item)
        if pause is not None:
            self._flag(Violation("pause", pk, f"{item.to} got it at {item.at} during pause {pause.pk}"))
        if tracked.owner_email in self.unverified_emails:
            self._flag(Violation("early", pk, f"delivered to {item.to} though the owner never verified an address"))
        if item.to not in tracked.value_before(tracked.recipients, item.order):
            self._flag(Violation("after", pk, f"{item.to} got it at {item.at} after the owner removed it"))
        if tracked.revoked_order is not None and item.order > tracked.revoked_order:
            self._flag(Violation("after", pk, f"{item.to} got it at {item.at} after the revoke was acknowledged"))
        if len(copies) > 1 and not self._allowed_copy(copies):
            ids = [c.delivery_id or "-" for c in copies]
            self.violations.append(
                Violation("twice", pk, f"{item.to} got {len(copies)} copies (delivery ids {ids}, at {copies[-1].at})")
            )
        self._check_not_early(tracked, item)

    @staticmethod
    def _allowed_copy(copies: list[Accepted]) -> bool:
        """A repeat is excused only where the sender could not know the first arrived, and it says so."""
        ids = {c.delivery_id for c in copies}
        return len(ids) == 1 and "" not in ids and all(c.ambiguous for c in copies[:-1])

    def _check_not_early(self, tracked: Tracked, delivery: Accepted) -> None:
        if len(self.deliveries[delivery.to]) > 1:
            return  # judged at the first copy
        start_order, start_at = _last_before(tracked.cycle_starts, delivery.order)
        warnings = sorted(
            (w for w in self.warnings[tracked.pk] if start_order < w.order < delivery.order), key=lambda w: w.order
        )
        previous_at, previous_order = start_at, start_order
        # A ladder other than the seed's can change only at level 0 (a change is refused once a
        # warning is out): after warning 1 the gaps are those of the ladder it was sent under.
        gaps: tuple[int, ...] = ()
        count = len(self.ladder_before(tracked, delivery.order)) - 1
        level = 1
        while level <= count:
            warning = next((w for w in warnings if w.level == level and w.order > previous_order), None)
            if warning is None:
                # No contact accepted it: allowed only as "owner unreachable on every channel",
                # no sooner than the grace after its first refusal could have been (a lower
                # bound of when it counted: the steps after it are judged from there).
                if level == 1:
                    need = timedelta(
                        seconds=min(ladder[0] for ladder in self._first_ladders(tracked, start_order, delivery.order))
                    )
                    gaps = self.ladder_before(tracked, delivery.order)[1:]
                    count = len(gaps)
                else:
                    need = timedelta(seconds=gaps[level - 2])
                earliest = unreachable_earliest(
                    self, tracked, previous_at=previous_at, need=need, delivery_order=delivery.order
                )
                if earliest is not None:
                    tracked.event(
                        delivery.order, earliest, f"warning {level}: owner unreachable, counted at the earliest"
                    )
                    previous_at = earliest
                    level += 1
                    continue
                self.violations.append(
                    Violation(
                        "early",
                        tracked.pk,
                        f"{delivery.to} got it at {delivery.at} but warning {level} was never sent "
                        f"after the cycle began at {start_at}",
                    )
                )
                return
            if level == 1:
                # The shortest first delay in force at any time of the wait: an edit that lengthens it
                # after the sweep took the step (the e-mail held up by the relay) rightly changes nothing.
                in_force = self._first_ladders(tracked, start_order, warning.order)
                need = timedelta(seconds=min(ladder[0] for ladder in in_force))
                gaps = self.ladder_before(tracked, warning.order)[1:]
                count = len(gaps)
            else:
                need = timedelta(seconds=gaps[level - 2])
            self._check_step(tracked, f"warning {level}", warning.at, previous_at, need, delivery)
            previous_at, previous_order = warning.at, warning.order
            level += 1
        self._check_step(
            tracked, f"delivery to {delivery.to}", delivery.at, previous_at, timedelta(seconds=gaps[-1]), delivery
        )

    def _first_ladders(self, tracked: Tracked, start_order: int, until_order: int) -> list[tuple[int, ...]]:
        """The ladders in force at any time between the cycle's start and ``until_order``."""
        return [self.ladder_before(tracked, start_order + 1)] + [
            ladder for at_order, ladder in tracked.ladders if start_order < at_order < until_order
        ]

    def _check_step(
        self, tracked: Tracked, what: str, at: datetime, previous_at: datetime, need: timedelta, delivery: Accepted
    ) -> None:
        """A step at least ``need`` after the previous one, and after every pause it could not have been due before."""
        if at < previous_at + need:
            self.violations.append(
                Violation(
                    "early",
                    tracked.pk,
                    f"{what} at {at} came {previous_at + need - at} early "
                    f"(previous step {previous_at}, interval {need}); delivered at {delivery.at}",
                )
            )
        for pause_pk in tracked.pause_ids:
            pause = self.pauses[pause_pk]
            # Begun before the step could be due and ended after the previous step: the step
            # was not taken yet when it began, so it comes a whole interval after the end.
            if pause.at < previous_at + need and pause.end > previous_at and at < pause.end + need:
                self.violations.append(
                    Violation(
                        "pause",
                        tracked.pk,
                        f"{what} at {at}, {pause.end + need - at} before the whole interval ({need}) "
                        f"after pause {pause.pk} ended at {pause.end}",
                    )
                )

    def warnings_twice(self) -> None:
        """A warning level sent twice within one cycle (between acknowledged resets)."""
        for pk, warnings in self.warnings.items():
            tracked = self.messages.get(pk)
            if tracked is None:
                continue
            seen = defaultdict(list)
            for warning in warnings:
                cycle = _last_before(tracked.cycle_starts, warning.order)[0]
                seen[(cycle, warning.level, warning.to)].append(warning)  # once per contact
            for (_cycle, level, to), copies in seen.items():
                # Excused as for deliveries: every earlier copy was one the sender could not
                # know arrived, and all carry one id the receiver can drop the repeat by.
                ids = {c.delivery_id for c in copies}
                excused = len(ids) == 1 and "" not in ids and all(c.ambiguous for c in copies[:-1])
                if len(copies) > 1 and not excused:
                    self._flag(Violation("twice", pk, f"warning {level} sent {len(copies)} times in one cycle to {to}"))

    # After the faults ----------------------------------------------------------------------------
    def final_check(self, *, snapshot: dict[int, dict], health_strict: int) -> None:
        """``snapshot``: pk -> {"state", "warning_email_due_at", "deliveries": {address: state}}, read from the DB;
        ``health_strict``: what ``/healthz?strict=1`` answers now."""
        self.warnings_twice()
        refused = [
            (pk, a)
            for pk, t in self.messages.items()
            if t.revoked_order is None
            for a in t.permanent_failures & t.final_recipients
        ]
        if refused:
            # A recipient refused for good is staff's to act on: the strict health check and ADMINS say so.
            if health_strict != 503:
                self._flag(
                    Violation("dropped", None, f"{len(refused)} refused for good, /healthz?strict=1 {health_strict}")
                )
            if not self.staff_alarms:
                self._flag(Violation("dropped", None, f"{len(refused)} refused for good, no e-mail to ADMINS"))
        for pk, tracked in self.messages.items():
            row = snapshot[pk]
            if tracked.owner_email in self.unverified_emails:
                # Held, never advanced: still on the ladder, nothing delivered (promise 1).
                if tracked.revoked_order is None and row["state"] != "active":
                    self._flag(Violation("early", pk, f"an unverified owner's message is {row['state']}"))
                if row["deliveries"]:
                    self._flag(
                        Violation("early", pk, f"an unverified owner's message has deliveries {row['deliveries']}")
                    )
                continue
            if row["warning_email_due_at"] is not None and row["state"] == "active":
                self._flag(Violation("stuck", pk, "a warning e-mail is still queued"))
            sending = [a for a, state in row["deliveries"].items() if state == "sending"]
            if sending:
                self._flag(Violation("stuck", pk, f"deliveries left sending: {sending}"))
            if tracked.revoked_order is not None:
                if row["state"] != "revoked":
                    self._flag(Violation("after", pk, f"revoke acknowledged but the message is {row['state']}"))
                served = [a for a in tracked.final_recipients if self.deliveries.get(a)]
                if served and len(served) == len(tracked.final_recipients):
                    before = all(self.deliveries[a][0].order < tracked.revoked_order for a in served)
                    if before:
                        self.violations.append(
                            Violation(
                                "stuck",
                                pk,
                                "a revoke was accepted after every recipient had the message "
                                "(it had been left 'delivering')",
                            )
                        )
                continue
            expected = tracked.final_recipients - tracked.permanent_failures
            missing = sorted(a for a in expected if not self.deliveries.get(a))
            if missing:
                states = {a: row["deliveries"].get(a, "no delivery row") for a in missing}
                self.violations.append(Violation("dropped", pk, f"message is {row['state']}; never reached {states}"))
            elif not tracked.permanent_failures and row["state"] != "delivered":
                self.violations.append(
                    Violation("stuck", pk, f"every recipient has it but the message is {row['state']}")
                )
            for address in tracked.permanent_failures & tracked.final_recipients:
                if row["deliveries"].get(address) in ("pending", "sending"):
                    self.violations.append(
                        Violation("stuck", pk, f"{address} refused for good but its delivery is still retried")
                    )
            for address, state in row["deliveries"].items():
                if state == "sent" and not self.deliveries.get(address):
                    self._flag(Violation("dropped", pk, f"{address} recorded sent but nothing arrived"))

    def report(self, *, limit: int = 12) -> str:
        by_promise = Counter(v.promise for v in self.violations)
        lines = [f"{len(self.violations)} violations: {dict(by_promise)}"]
        shown = Counter()
        for violation in self.violations:
            if shown[violation.promise] < limit:
                shown[violation.promise] += 1
                lines.append(f"  {violation}")
        first = next((v for v in self.violations if v.pk is not None and v.pk in self.messages), None)
        if first is not None:
            lines.append(f"history of message {first.pk} (the first violation's):")
            lines += [f"  #{order} {at:%Y-%m-%d %H:%M:%S} {text}" for order, at, text in self.history(first.pk)]
        return "\n".join(lines)

    def history(self, pk: int) -> list[tuple[int, datetime, str]]:
        return sorted(self.messages[pk].events, key=lambda e: (e[0], e[1]))


def stated_deadline(body: str) -> datetime | None:
    found = STATED_DEADLINE.search(body)
    if found is None:
        return None
    month, day, year, clock, hour, minute, half = found.groups()
    if clock == "noon":
        hour, minute = 12, 0
    elif clock == "midnight":
        hour, minute = 0, 0
    else:
        hour, minute = int(hour) % 12 + (12 if half == "p" else 0), int(minute or 0)
    return datetime(int(year), MONTHS[month], int(day), hour, minute, tzinfo=UTC)


def _last_before(history: list[tuple[int, datetime]], order: int) -> tuple[int, datetime]:
    found = history[0]
    for item in history:
        if item[0] < order:
            found = item
    return found
