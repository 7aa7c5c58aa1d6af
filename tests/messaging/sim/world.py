"""The simulated world: owners who write, edit and answer, a cluster that comes and goes, and a clock.

One ``World`` runs a seeded scenario in two phases:

- **chaos**: time jumps forward in random steps (minutes to a day and a half); owners create
  messages (API and pages), answer warnings late or never (the check-in link from the
  e-mail, logged out; the personal check-in URL; the message page; the API), edit messages
  (page, sometimes choosing another ladder), revoke (page, API, the public key page), pause
  every message or one (page, API) and sometimes end a pause early; each message runs on a
  random ladder (the seed's, a preset, or a custom one of 1-5 warnings in hours); the
  cluster is down for random windows (time passes, no job runs), once for ``long_outage_days``
  (200 by default: the owners go on answering, editing and pausing while nothing is sent, and
  when it comes back every warning still goes out, each its interval apart), the relay
  and the webhook receivers fail for random windows, and some webhooks take a POST and
  answer too late;
- **calm**: every fault ends, owners stop answering, and the cluster runs (every two
  simulated hours) for longer than the longest ladder, so every message must end.

Every answer is recorded in the oracle with whether the site acknowledged it; everything
the far ends accepted is passed to it as it happens.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.messages import get_messages
from django.db.models import Max
from django.test import Client, TestCase
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.reauth import SESSION_AUTH_AT
from messaging import ping
from messaging.models import Message, Pause, StatusLog
from tests.conftest import make_api_client
from tests.messaging.sim import doubles
from tests.messaging.sim.contacts import OwnerContacts
from tests.messaging.sim.oracle import Oracle, Warning_

CHECKIN_URL = re.compile(r"https?://\S+/messages/check-in/[^\s/]+/")
# A title some clients send: a line break (hostile or pasted); the site may refuse it, but if
# it takes it, the message must still reach its recipients.
HOSTILE_TITLES = ("Hello\nWorld", "line\r\nbreak", "tab\there")
OWNER_PASSWORD = "pw-sim-owner-1!"
HOUR, DAY = 3600, 86400
# The presets as the product promises them (issue 14 and the help page), written here apart
# from messaging.ladder so that the oracle judges the code against the promise, not itself.
PRESETS = {
    "welfare": (DAY, 6 * HOUR, 6 * HOUR, 12 * HOUR),
    "weekly": (7 * DAY, DAY, DAY, DAY),
    "monthly": (30 * DAY, 7 * DAY, 3 * DAY, DAY),
}
CUSTOM_FIRST_HOURS, CUSTOM_GAP_HOURS = 96, 72  # the longest custom steps the simulation draws


@dataclass(frozen=True)
class SimConfig:
    seed: int
    scale: float = 1.0
    permanent: bool = False  # the far ends also refuse some addresses for good (550, 410)
    owners: int = 6
    days_per_month: int = 2
    ladder_days: tuple[int, ...] = (3, 3, 2, 1, 1)
    max_months: int = 4
    # Owners answer right when the oracle expects the next step, so answers meet the sweep and
    # the warning sender (worth it only where the jobs run in other processes at the same time).
    race: bool = False
    ladders: bool = True  # random ladders (presets and custom) besides the seed's
    pauses: bool = True  # owners pause every message or one, and sometimes end a pause early
    pause_max_days: int = 5  # MESSAGING_PAUSE_MAX_DAYS for the run
    # The owners' own contacts (sim/contacts.py), and the all-permanent rule's grace, in days.
    contacts: bool = True
    # Some messages count the owner's log-in as a check-in; some answers are a log-in.
    activity: bool = True
    # One cluster outage this long in the chaos phase (0: none), besides the short ones.
    long_outage_days: int = 200
    grace_days: int = 1

    @property
    def presets(self) -> tuple[str, ...]:
        # The monthly check (41 days) would double the calm phase: only in the long searches.
        return ("welfare", "weekly", "monthly") if self.scale >= 2 else ("welfare", "weekly")

    @property
    def messages(self) -> int:
        return max(20, int(300 * self.scale))

    @property
    def chaos(self) -> timedelta:
        return timedelta(days=max(15, int(45 * self.scale**0.5)))

    @property
    def longest_cycle(self) -> timedelta:
        """The longest ladder a message may run on, plus the longest pause that may hold it."""
        days = self.max_months * self.days_per_month + sum(self.ladder_days)
        if self.ladders:
            custom = (CUSTOM_FIRST_HOURS + 5 * CUSTOM_GAP_HOURS) / 24
            days = max(days, custom, *(sum(PRESETS[name]) / DAY for name in self.presets))
        if self.pauses:
            days += self.pause_max_days
        return timedelta(days=days)


@dataclass
class Owner:
    user: User
    page: Client
    api: APIClient
    answers: float  # the chance they answer a warning at all
    lag_hours: float  # how late, on average
    messages: list[int] = field(default_factory=list)
    pauses: list[int] = field(default_factory=list)  # acknowledged pauses (may have ended since)


@dataclass(order=True)
class Planned:
    at: datetime
    pk: int = field(compare=False)
    kind: str = field(compare=False)
    how: str = field(compare=False)


class World:
    def __init__(self, *, config: SimConfig, start: datetime, move_clock, run_jobs, accepted=None, settle=None) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        # Its own draws for "activity counts as a check-in", so a seed's other choices stay as they were.
        self.activity_rng = random.Random(config.seed * 7919 + 1)
        self.now = start
        self.start = start
        self.move_clock = move_clock
        self.run_jobs = run_jobs
        # Everything the far ends accepted so far, in the order they took it (children: a mailbox file).
        self.accepted = accepted or (lambda: doubles.ACCEPTED)
        # Children: wait until the jobs started last have run (one process needs no waiting).
        self.settle = settle or (lambda: None)
        self.oracle = Oracle(
            days_per_month=config.days_per_month,
            ladder_days=list(config.ladder_days),
            staff_emails={email for _name, email in settings.ADMINS},
            grace_days=config.grace_days,
        )
        self.contacts = OwnerContacts(seed=config.seed, oracle=self.oracle)
        self.owners: list[Owner] = []
        self.owner_of: dict[int, Owner] = {}
        self.keys: dict[int, str] = {}
        self.recipients: dict[int, list[dict]] = {}
        self.ladders: dict[int, tuple[str, tuple[int, ...]]] = {}  # pk -> (name, seconds) as acknowledged
        self.planned: list[Planned] = []
        self.ping_secrets: dict[int, str] = {}
        # The warning e-mail's link is opened where no one is logged in (it needs no log-in).
        self.mail_reader = Client(raise_request_exception=False)
        self.next_key = 0
        self.seen = 0
        self.ticks = self.job_runs = 0
        doubles.FAULTS.reset(seed=config.seed)
        doubles.ACCEPTED.clear()
        self.windows = {name: self._windows() for name in ("cluster", "smtp", "hooks")}
        # The long outage: after the first messages exist, before the last are written. The
        # chaos phase lasts that much longer, so the faults after it still happen.
        self.long_outage: tuple[datetime, datetime] | None = None
        self.overdue_after_outage = 0
        if config.long_outage_days:
            at = start + config.chaos * self.activity_rng.uniform(0.3, 0.5)
            self.long_outage = (at, at + timedelta(days=config.long_outage_days))
            self.windows["cluster"] = [
                (a, b)
                if b <= at
                else (a + timedelta(days=config.long_outage_days), b + timedelta(days=config.long_outage_days))
                for a, b in self.windows["cluster"]
                if not (a < self.long_outage[1] and at < b)
            ] + [self.long_outage]

    # Set-up -----------------------------------------------------------------------------------
    def _windows(self) -> list[tuple[datetime, datetime]]:
        """Random fault windows over the chaos phase: ten minutes to three days each."""
        windows, at = [], self.start
        end = self.start + self.config.chaos
        while True:
            at += timedelta(hours=self.rng.expovariate(1 / 60))
            if at >= end:
                return windows
            length = timedelta(minutes=self.rng.choice([10, 45, 120, 400, 1500, 4300]) * self.rng.uniform(0.5, 1.5))
            windows.append((at, at + length))
            at += length

    def _in(self, name: str) -> bool:
        return any(a <= self.now < b for a, b in self.windows[name])

    def add_owners(self) -> None:
        for index in range(self.config.owners):
            user = User.objects.create_user(
                username=f"owner{index}",
                email=f"owner{index}@owners.sim.test",
                password=OWNER_PASSWORD,
                email_verified_at=self.now,  # Cradle warns only a verified address
            )
            page = Client(raise_request_exception=False)
            page.force_login(user)
            api = make_api_client(user, ["messages:read", "messages:write"])
            api.raise_request_exception = False
            self.ping_secrets[user.pk] = ping.ping_token_create(owner=user).secret
            # One owner never answers (their messages must all be delivered); the others vary.
            answers = 0.0 if index == 0 else self.rng.uniform(0.3, 0.95)
            self.owners.append(Owner(user=user, page=page, api=api, answers=answers, lag_hours=self.rng.uniform(2, 60)))
            if self.config.contacts:
                # Owner 1 loses every contact for good at some point (the all-permanent rule).
                self.contacts.add(
                    owner=self.owners[-1], start=self.start, chaos=self.config.chaos, gone_owner=index == 1
                )

    def add_unverified_owner(self) -> None:
        """An owner who never opens the verification link and never answers: their messages
        are held at their first warning for the whole run, never warned, never delivered.
        Their messages are made here, without the run's random draws, so the scenario of a
        seed stays what it was before they existed."""
        user = User.objects.create_user(
            username="unverified", email="unverified@owners.sim.test", password="pw-sim-owner-1!"
        )
        self.oracle.unverified_emails.add(user.email)
        api = make_api_client(user, ["messages:read", "messages:write"])
        for index in range(3):
            address = f"held{index}@recipients.sim.test"
            response = api.post(
                "/api/v1/messages/",
                {
                    "title": f"Held {index}",
                    "content": "never to be sent",
                    "initial_delay_months": 1,
                    "recipients": [{"name": f"Held {index}", "contact": address, "contact_type": "email"}],
                },
                format="json",
            )
            assert response.status_code == 201, response.content[:500]
            self.oracle.created(
                pk=response.json()["id"],
                owner_email=user.email,
                key=response.json()["revocation_key"],
                months=1,
                addresses={address},
                at=self.now,
                order=doubles.order_stamp(),
            )

    # The phases -------------------------------------------------------------------------------
    def run(self) -> Oracle:
        self.add_owners()
        self.add_unverified_owner()
        creations = sorted(
            self.start + self.config.chaos * self.rng.uniform(0, 0.75) for _ in range(self.config.messages)
        )
        end = self.start + self.config.chaos + timedelta(days=self.config.long_outage_days)
        if self.long_outage is not None:
            # Messages due to be written during the outage and after it are written later by as much.
            gap = self.long_outage[1] - self.long_outage[0]
            creations = [at if at < self.long_outage[0] else at + gap for at in creations]
        while self.now < end:
            self._tick_chaos(creations)
        self._calm()
        self.settle()
        self.harvest()
        return self.oracle

    def _step(self) -> timedelta:
        roll = self.rng.random()
        if roll < 0.7:
            return timedelta(minutes=self.rng.uniform(5, 90))
        if roll < 0.95:
            return timedelta(hours=self.rng.uniform(2, 8))
        return timedelta(hours=self.rng.uniform(12, 36))

    def _advance(self, step: timedelta) -> None:
        self.now += step
        self.move_clock(self.now)
        self.ticks += 1

    def _tick_chaos(self, creations: list[datetime]) -> None:
        if self.long_outage is not None and self.long_outage[0] <= self.now < self.long_outage[1]:
            # Nothing runs: days go by in a few ticks, in which owners still act.
            self._advance(timedelta(hours=self.activity_rng.uniform(12, 72)))
            if self.now >= self.long_outage[1]:
                # What the outage left behind: the messages whose next step fell inside it.
                self.overdue_after_outage = Message.objects.filter(
                    state=Message.State.ACTIVE, next_warning_date__lt=self.long_outage[1]
                ).count()
        else:
            self._advance(self._step())
        faults = doubles.FAULTS
        faults.smtp_down, faults.hooks_down = self._in("smtp"), self._in("hooks")
        faults.hooks_ambiguous = 0.05
        self.contacts.tick(now=self.now, order=doubles.order_stamp())
        while creations and creations[0] <= self.now:
            creations.pop(0)
            self.create_message(self.rng.choice(self.owners))
        jobs_first = self.rng.random() < 0.5
        if jobs_first:
            self._jobs()
            if self.config.race:
                self._race()
        self._answers()
        if not jobs_first:
            self._jobs()

    def _calm(self) -> None:
        faults = doubles.FAULTS
        faults.smtp_down = faults.hooks_down = False
        faults.hooks_ambiguous = 0.0
        self.planned.clear()
        self.contacts.tick(now=self.now, order=doubles.order_stamp(), everything=True)
        end = self.now + self.config.longest_cycle + timedelta(days=3) + self.contacts.extra_calm
        while self.now < end:
            self._advance(timedelta(hours=2))
            self._jobs(force=True)

    def _jobs(self, *, force: bool = False) -> None:
        if not force and self._in("cluster"):
            return  # the cluster is down: time passes, no job runs
        self.run_jobs()
        self.job_runs += 1
        self.harvest()

    def harvest(self) -> None:
        everything = self.accepted()
        new = everything[self.seen :]
        self.seen = len(everything)
        for warning in self.oracle.observe(new):
            self._decide(warning)

    # What owners do -------------------------------------------------------------------------------
    def _decide(self, warning: Warning_) -> None:
        owner = self.owner_of.get(warning.pk)
        if owner is None or self.rng.random() >= owner.answers:
            return
        roll = self.rng.random()
        kind = "reset" if roll < 0.75 else "continue" if roll < 0.96 else "revoke"
        if kind == "reset":
            how = self.rng.choice(["checkin", "checkin", "page", "api", "ping"])
            if self.config.activity and self.activity_rng.random() < 0.3 and _opted_in(warning.pk):
                how = "activity"  # a log-in resets every opted-in waiting message of the owner
        elif kind == "continue":
            how = self.rng.choice(["checkin", "checkin", "page", "api"])
        else:
            how = self.rng.choice(["page", "api", "key", "checkin"])
        lag = timedelta(hours=self.rng.expovariate(1 / owner.lag_hours))
        self.planned.append(Planned(at=self.now + lag, pk=warning.pk, kind=kind, how=how))

    def _answers(self) -> None:
        due = [p for p in self.planned if p.at <= self.now]
        self.planned = [p for p in self.planned if p.at > self.now]
        for planned in sorted(due):
            self.answer(planned.pk, planned.kind, planned.how)
        for owner in self.owners:
            if not owner.messages:
                continue
            roll = self.rng.random()
            pk = self.rng.choice(owner.messages)
            if roll < 0.04:
                self.edit(pk)
            elif roll < 0.05:
                self.answer(pk, "revoke", "key")
            elif roll < 0.07:
                self.answer(pk, self.rng.choice(["reset", "continue"]), self.rng.choice(["page", "api"]))
            elif self.config.pauses and roll < 0.09:
                self.pause(owner, pk if self.rng.random() < 0.6 else None)
            elif self.config.pauses and roll < 0.10:
                # Mostly one still in force (ending one that is over is refused, and tried too).
                live = [p for p in owner.pauses if self.oracle.pauses[p].in_force(self.now, doubles.order_stamp())]
                if live or owner.pauses:
                    self.pause_end(owner, self.rng.choice(live if live and self.rng.random() < 0.9 else owner.pauses))

    def _race(self) -> None:
        """Answer messages whose next step is due now, while the jobs that take that step run."""
        for pk in list(self.owner_of):
            if self._next_step_due(pk) and self.rng.random() < 0.5:
                roll = self.rng.random()
                kind = "revoke" if roll < 0.3 else "reset" if roll < 0.8 else "continue"
                self.answer(pk, kind, self.rng.choice(["page", "api"]))

    def _next_step_due(self, pk: int) -> bool:
        """From what the oracle saw: the last warning (or the cycle's start) plus the configured interval."""
        tracked = self.oracle.messages[pk]
        if tracked.revoked_order is not None:
            return False
        start_order, start_at = tracked.cycle_starts[-1]
        warnings = [w for w in self.oracle.warnings.get(pk, []) if w.order > start_order]
        steps = tracked.ladders[-1][1]
        if not warnings:
            due = start_at + timedelta(seconds=steps[0])
        else:
            due = warnings[-1].at + timedelta(seconds=steps[min(warnings[-1].level, len(steps) - 1)])
        return due <= self.now

    def _recipients(self, key: int, version: int) -> list[dict]:
        items = []
        for index in range(self.rng.choice([1, 1, 2, 2, 3])):
            if self.rng.random() < 0.3:
                contact = f"https://{doubles.HOOK_HOST}/m{key}/r{index}v{version}"
                items.append({"name": f"Hook {index}", "contact": contact, "contact_type": "webhook"})
            else:
                contact = f"m{key}r{index}v{version}@rcpt.sim.test"
                items.append({"name": f"Person {index}", "contact": contact, "contact_type": "email"})
        return items

    def _ladder(self, months: int) -> tuple[str, tuple[int, ...]]:
        """A random ladder: (its name, its offsets in seconds)."""
        seed = (months * self.config.days_per_month * DAY, *(d * DAY for d in self.config.ladder_days))
        if not self.config.ladders:
            return "seed", seed
        roll = self.rng.random()
        if roll < 0.4:
            return "seed", seed
        if roll < 0.7:
            name = self.rng.choice(self.config.presets)
            return name, PRESETS[name]
        warnings = self.rng.randint(1, 5)
        first = self.rng.randint(1, CUSTOM_FIRST_HOURS) * HOUR
        return "custom", (first, *(self.rng.randint(1, CUSTOM_GAP_HOURS) * HOUR for _ in range(warnings)))

    @staticmethod
    def _ladder_fields(name: str, steps: tuple[int, ...], *, page: bool) -> dict:
        if page:  # the form takes a custom ladder in hours (or days), as the owner types it
            hours = ", ".join(str(s // HOUR) for s in steps) if name == "custom" else ""
            return {"ladder": name, "ladder_steps": hours, "ladder_unit": "hours"}
        return {"ladder": name, **({"ladder_steps": list(steps)} if name == "custom" else {})}

    def create_message(self, owner: Owner) -> None:
        key = self.next_key
        self.next_key += 1
        months = self.rng.randint(1, self.config.max_months)
        ladder_name, steps = self._ladder(months)
        recipients = self._recipients(key, 0)
        title = self.rng.choice(HOSTILE_TITLES) if self.rng.random() < 0.03 else f"Message {key}"
        content = f"The words of message {key}."
        activity = self.config.activity and self.activity_rng.random() < 0.3
        if self.rng.random() < 0.7:
            response = owner.api.post(
                "/api/v1/messages/",
                {
                    "title": title,
                    "content": content,
                    "initial_delay_months": months,
                    "recipients": recipients,
                    "activity_resets": activity,
                    **self._ladder_fields(ladder_name, steps, page=False),
                },
                format="json",
            )
            if response.status_code == 400 and title in HOSTILE_TITLES:
                return self._create_refused()
            assert response.status_code == 201, (response.status_code, response.content[:500])
            pk, revocation_key = response.json()["id"], response.json()["revocation_key"]
        else:
            data = {
                "title": title,
                "content": content,
                "initial_delay_months": months,
                **self._ladder_fields(ladder_name, steps, page=True),
                **_formset(recipients),
                **({"activity_resets": "on"} if activity else {}),
            }
            response = _fresh_flash(owner.page).post(reverse("messaging:message_create"), data)
            context = response.context or {}
            if "revocation_key" not in context and title in HOSTILE_TITLES:
                return self._create_refused()
            assert response.status_code == 200 and "revocation_key" in context, response.content[:2000]
            pk, revocation_key = context["message"].pk, context["revocation_key"]
        self.oracle.created(
            pk=pk,
            owner_email=owner.user.email,
            key=revocation_key,
            months=months,
            addresses={r["contact"] for r in recipients},
            at=self.now,
            order=doubles.order_stamp(),
            ladder=steps,
            ladder_name=ladder_name,
        )
        self._mark_permanent(pk, recipients)
        self.ladders[pk] = (ladder_name, steps)
        owner.messages.append(pk)
        self.owner_of[pk] = owner
        self.keys[pk] = revocation_key
        self.recipients[pk] = recipients

    def _create_refused(self) -> None:
        # Refusing a line break in a title is right (a 400 naming the field); nothing to follow up.
        self.oracle.answers[("create", "hostile title", "refused")] += 1

    def _mark_permanent(self, pk: int, recipients: list[dict]) -> None:
        if not self.config.permanent or self.rng.random() > 0.05:
            return
        contact = self.rng.choice(recipients)["contact"]
        if contact.startswith("https://"):
            doubles.FAULTS.gone_urls.add(contact)
        else:
            doubles.FAULTS.refused_addresses.add(contact)
        self.oracle.messages[pk].permanent_failures.add(contact)

    def edit(self, pk: int) -> None:
        owner = self.owner_of[pk]
        months = self.rng.randint(1, self.config.max_months)
        recipients = list(self.recipients[pk])
        if self.rng.random() < 0.5:
            version = self.rng.randint(1, 10**6)
            recipients = self._recipients(self.next_key + version, version)
        # Another ladder (refused once a warning is out), or the same one kept; the seed's
        # ladder follows the delay in months.
        ladder_name, steps = self.ladders[pk]
        if self.rng.random() < 0.3:
            ladder_name, steps = self._ladder(months)
        elif ladder_name == "seed":
            steps = self._ladder_seed(months)
        _proved_again(owner.page, self.now)  # editing recipients needs a fresh log-in (accounts.reauth)
        data = {
            "title": f"Edited {pk}",
            "content": f"Edited words of {pk}.",
            "initial_delay_months": months,
            **self._ladder_fields(ladder_name, steps, page=True),
        }
        response = _fresh_flash(owner.page).post(
            reverse("messaging:message_edit", args=[pk]), {**data, **_formset(recipients)}
        )
        order = doubles.order_stamp()
        if response.status_code >= 500:
            status = response.status_code
            return self.oracle.answer_failed(pk=pk, how="page", kind="edit", status=status, detail=_error(response))
        acknowledged = response.status_code == 302 and _flash_ok(response)
        self.oracle.answered(pk=pk, how="page", kind="edit", acknowledged=acknowledged, at=self.now, order=order)
        if acknowledged:
            addresses = {r["contact"] for r in recipients}
            self.oracle.edited(pk=pk, months=months, addresses=addresses, order=order, ladder=steps, at=self.now)
            self._mark_permanent(pk, recipients)
            self.recipients[pk] = recipients
            self.ladders[pk] = (ladder_name, steps)

    def _ladder_seed(self, months: int) -> tuple[int, ...]:
        return (months * self.config.days_per_month * DAY, *(d * DAY for d in self.config.ladder_days))

    def pause(self, owner: Owner, pk: int | None) -> None:
        """Pause every message of ``owner`` (``pk`` None) or one, through the page or the API."""
        seconds = self.rng.uniform(HOUR, self.config.pause_max_days * DAY - HOUR)
        until = (self.now + timedelta(seconds=seconds)).replace(second=0, microsecond=0)
        how = self.rng.choice(["page", "api"])
        if how == "api":
            body = {"until": until.isoformat(), **({"message": pk} if pk is not None else {})}
            response = owner.api.post("/api/v1/pauses/", body, format="json")
            acknowledged = response.status_code == 201
            pause_pk = response.json()["id"] if acknowledged else None
        else:
            # The owners' time zone is UTC: the form's local time is the time itself.
            where = reverse("messaging:message_pause", args=[pk]) if pk else reverse("messaging:pause_settings")
            response = _fresh_flash(owner.page).post(where, {"until": until.strftime("%Y-%m-%dT%H:%M")})
            acknowledged = response.status_code == 302 and _flash_ok(response)
            pause_pk = Pause.objects.filter(owner=owner.user).order_by("-id").values_list("id", flat=True).first()
        order = doubles.order_stamp()
        kind = "pause all" if pk is None else "pause"
        if response.status_code >= 500:
            target = pk or (owner.messages[0] if owner.messages else None)
            return self.oracle.answer_failed(
                pk=target, how=how, kind=kind, status=response.status_code, detail=_error(response)
            )
        self.oracle.answers[(how, kind, "ok" if acknowledged else "refused")] += 1
        if not acknowledged:
            return
        # Which messages it holds: those on their ladder when it began. A message it holds cannot
        # leave "active" while it is in force, and one that was not cannot come back to it, so
        # the states read right after are the states it saw.
        mine = Message.objects.filter(owner=owner.user, state=Message.State.ACTIVE)
        covered = set(mine.filter(pk=pk).values_list("pk", flat=True) if pk else mine.values_list("pk", flat=True))
        self.oracle.paused(
            pk=pause_pk,
            owner_email=owner.user.email,
            message=pk,
            until=until,
            at=self.now,
            order=order,
            covered=covered,
        )
        owner.pauses.append(pause_pk)

    def pause_end(self, owner: Owner, pause_pk: int) -> None:
        how = self.rng.choice(["page", "api"])
        if how == "api":
            response = owner.api.post(f"/api/v1/pauses/{pause_pk}/end/")
            acknowledged = response.status_code == 200
        else:
            response = _fresh_flash(owner.page).post(reverse("messaging:pause_end", args=[pause_pk]))
            acknowledged = response.status_code == 302 and _flash_ok(response)
        order = doubles.order_stamp()
        if response.status_code >= 500:
            target = self.oracle.pauses[pause_pk].message
            return self.oracle.answer_failed(
                pk=target, how=how, kind="end pause", status=response.status_code, detail=_error(response)
            )
        # Refused when it is over already (its date passed, or ended or replaced before).
        self.oracle.answers[(how, "end pause", "ok" if acknowledged else "refused")] += 1
        if acknowledged:
            self.oracle.pause_ended(pk=pause_pk, at=self.now, order=order)

    def answer(self, pk: int, kind: str, how: str) -> None:
        owner = self.owner_of[pk]
        if how == "activity":
            return self._log_in(owner)
        if how == "page":
            response = _fresh_flash(owner.page).post(reverse("messaging:message_action", args=[pk, kind]))
            acknowledged = response.status_code == 302 and _flash_ok(response)
        elif how == "api":
            response = owner.api.post(f"/api/v1/messages/{pk}/{'continue' if kind == 'continue' else kind}/")
            acknowledged = response.status_code == 200
        elif how == "ping":  # the personal check-in URL, for this one message
            secret = self.ping_secrets[owner.user.pk]
            response = Client(raise_request_exception=False).post(reverse("ping_message", args=[secret, pk]))
            acknowledged = response.status_code == 200
        elif how == "key":
            response = _fresh_flash(owner.page).post(reverse("messaging:public_revoke"), {"key": self.keys[pk]})
            context = response.context or {}
            acknowledged = response.status_code == 200 and context.get("done") and not context.get("already")
        else:  # the check-in link of the newest warning e-mail for this message
            warnings = self.oracle.warnings.get(pk)
            found = CHECKIN_URL.search(warnings[-1].body) if warnings else None
            if found is None:
                return self.oracle.answer_failed(pk=pk, how=how, kind=kind, status=0, detail="no check-in link")
            path = urlsplit(found.group(0)).path
            shown = self.mail_reader.get(path)
            if shown.status_code >= 500:
                status = shown.status_code
                return self.oracle.answer_failed(pk=pk, how=how, kind="open", status=status, detail=_error(shown))
            if kind == "revoke":
                response = self.mail_reader.post(path + "revoke/", {"confirm": "yes"})
            else:
                response = self.mail_reader.post(path, {"answer": kind})
            # A link already used, or out of date (a newer warning, a reset), is refused: not done.
            acknowledged = response.status_code == 200 and (response.context or {}).get("done") == kind
        order = doubles.order_stamp()
        if response.status_code >= 500:
            return self.oracle.answer_failed(
                pk=pk, how=how, kind=kind, status=response.status_code, detail=_error(response)
            )
        self.oracle.answered(pk=pk, how=how, kind=kind, acknowledged=bool(acknowledged), at=self.now, order=order)

    def _log_in(self, owner: Owner) -> None:
        """A log-in through the real form: it resets each of the owner's opted-in waiting messages
        (``messaging.activity``), which says so in each one's history. The history is the only
        per-message answer a log-in gives; a reset it does not record is one the oracle never
        heard of, and any later step of the old cycle stays due in its eyes."""
        before = StatusLog.objects.filter(message__owner=owner.user).aggregate(last=Max("id"))["last"] or 0
        # The resets run after the log-in's commit (``transaction.on_commit``); in the one-process
        # run the test's own transaction never commits, so they are run as a commit would run them.
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = Client(raise_request_exception=False).post(
                reverse("accounts:login"), {"username": owner.user.username, "password": OWNER_PASSWORD}
            )
        order = doubles.order_stamp()
        if response.status_code >= 500:
            return self.oracle.answer_failed(
                pk=None, how="activity", kind="reset", status=response.status_code, detail=_error(response)
            )
        reset = StatusLog.objects.filter(
            message__owner=owner.user, id__gt=before, status=StatusLog.Status.WARNING_RESET
        ).values_list("message_id", flat=True)
        for message_id in sorted(set(reset)):
            self.oracle.answered(
                pk=message_id, how="activity", kind="reset", acknowledged=True, at=self.now, order=order
            )
        if not reset:
            self.oracle.answers[("activity", "reset", "nothing to reset")] += 1

    def health_strict(self) -> int:
        """What the monitor that pages staff hears, with every job fresh (so only an alarm can make it 503)."""
        from cradle_site import health

        for name in health.REQUIRED_BEATS:
            health.beat(name)
        return Client().get("/healthz?strict=1").status_code

    # The end ------------------------------------------------------------------------------------
    def snapshot(self) -> dict[int, dict]:
        from messaging.models import Delivery, Message

        rows = {
            pk: {"state": state, "warning_email_due_at": due, "deliveries": {}}
            for pk, state, due in Message.objects.values_list("pk", "state", "warning_email_due_at")
        }
        for message_id, contact, state in Delivery.objects.values_list("message_id", "recipient__contact", "state"):
            rows[message_id]["deliveries"][contact] = state
        return rows


def _opted_in(pk: int) -> bool:
    return Message.objects.filter(pk=pk, activity_resets=True).exists()


def _formset(recipients: list[dict]) -> dict:
    data = {
        "recipients-TOTAL_FORMS": str(len(recipients)),
        "recipients-INITIAL_FORMS": "0",
        "recipients-MIN_NUM_FORMS": "1",
        "recipients-MAX_NUM_FORMS": "50",
    }
    for index, item in enumerate(recipients):
        for name in ("name", "contact", "contact_type"):
            data[f"recipients-{index}-{name}"] = item[name]
    return data


def _proved_again(client: Client, now: datetime) -> None:
    """The owner has just passed the re-authentication page (what ``accounts.reauth`` records)."""
    session = client.session
    session[SESSION_AUTH_AT] = int(now.timestamp())
    session.save()


def _fresh_flash(client: Client) -> Client:
    client.cookies.pop("messages", None)  # django.contrib.messages' cookie storage
    return client


def _error(response) -> str:
    """The exception behind a 500 (the test client keeps it), else the start of the body."""
    exc_info = getattr(response, "exc_info", None)
    if exc_info:
        return f"{exc_info[0].__name__}: {exc_info[1]}"
    return response.content.decode(errors="replace")[:200]


def _flash_ok(response) -> bool:
    """Whether this answer's own flash message says it was done.

    The flash messages of earlier requests wait in the cookie until a page shows them, and
    the simulation never follows a redirect: ``_fresh_flash`` drops them before each POST.
    """
    return any(m.level_tag == "success" for m in get_messages(response.wsgi_request))
