"""The owners' own contacts in the simulation: 1 to 4 each (the account e-mail plus up to three
more e-mails and push URLs), verified through the API the real way (the code the far end
accepted), failing transiently with the relay's and the receivers' outage windows and, at
random, permanently (550 / 410 from a random moment on).

One owner loses every contact for good at some point of the chaos (and any owner whose
addresses all happen to die one by one is in the same place): from then on only the
all-permanent rule (``MESSAGING_UNREACHABLE_GRACE_DAYS``, shortened in the simulation) moves
their ladder, and the oracle allows each step no earlier than the grace after it could first
have been refused (``unreachable_earliest``).

Kept apart from ``world.py`` (which calls ``OwnerContacts`` at two points) and with its own
random stream, so the rest of a seed's scenario is what it was without contacts.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.messaging.sim import doubles

CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class Planned:
    at: datetime
    owner_email: str
    addresses: list[str]
    all_gone: bool


@dataclass
class OwnerContacts:
    """Adds every owner's contacts, and makes some of them fail for good as time goes by."""

    seed: int
    oracle: object
    planned: list[Planned] = field(default_factory=list)
    rng: random.Random = field(init=False)
    # Each owner's addresses (account e-mail first) and those that refuse for good by now.
    addresses: dict[str, list[str]] = field(default_factory=dict)
    dead: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed * 7919 + 1)

    def add(self, *, owner, start: datetime, chaos: timedelta, gone_owner: bool) -> None:
        """Give ``owner`` (a world Owner) 0-3 contacts besides the account e-mail, verified via the API."""
        user = owner.user
        addresses = [user.email]
        for index in range(self.rng.choice([0, 1, 2, 3])):
            if self.rng.random() < 0.5:
                kind, address = "email", f"{user.username}.c{index}@contacts.sim.test"
            else:
                kind, address = "push", f"https://{doubles.HOOK_HOST}/{user.username}/push{index}"
            self.oracle.contact_owner[address] = user.email
            first_level = self.rng.choice([1, 3, 3, 5])
            response = owner.api.post(
                "/api/v1/owner-contacts/",
                {"kind": kind, "address": address, "first_level": first_level},
                format="json",
            )
            assert response.status_code == 201, response.content[:500]
            code = self._code_for(address)
            verified = owner.api.post(
                f"/api/v1/owner-contacts/{response.json()['id']}/verify/", {"code": code}, format="json"
            )
            assert verified.status_code == 200 and verified.json()["is_verified"], verified.content[:500]
            addresses.append(address)
        self.addresses[user.email] = addresses
        if gone_owner:
            at = start + chaos * self.rng.uniform(0.1, 0.5)
            self.planned.append(Planned(at=at, owner_email=user.email, addresses=addresses, all_gone=True))
            return
        for address in addresses:
            if self.rng.random() < 0.2:
                at = start + chaos * self.rng.uniform(0, 0.9)
                self.planned.append(Planned(at=at, owner_email=user.email, addresses=[address], all_gone=False))

    @staticmethod
    def _code_for(address: str) -> str:
        # The parent sends the code itself (an API call), so it is in this process's list either way.
        sent = [item for item in doubles.ACCEPTED if item.to == address]
        assert sent, f"no verification code reached {address}"
        return CODE.search(sent[-1].body).group(1)

    def tick(self, *, now: datetime, order: int, everything: bool = False) -> None:
        """Make the contacts planned to die by ``now`` (``everything``: all still planned) refuse for good from now on."""
        due = [p for p in self.planned if everything or p.at <= now]
        self.planned = [p for p in self.planned if p not in due]
        for planned in due:
            for address in planned.addresses:
                self.dead.add(address)
                if address.startswith("https://"):
                    doubles.FAULTS.gone_urls.add(address)
                else:
                    doubles.FAULTS.refused_addresses.add(address)
            owner = planned.owner_email
            if owner not in self.oracle.owner_gone and all(a in self.dead for a in self.addresses[owner]):
                self.oracle.owner_gone[owner] = (order, now)

    @property
    def extra_calm(self) -> timedelta:
        """Time the calm phase needs beyond the ladder: each of 5 steps may wait its grace (+ a back-off)."""
        return 5 * (self.oracle.grace + timedelta(hours=6)) if self.oracle.owner_gone or self.planned else timedelta(0)


def unreachable_earliest(oracle, tracked, *, previous_at: datetime, need: timedelta, delivery_order: int):
    """When a step no contact accepted may at the earliest have counted as sent, or None if it may not.

    Only for an owner every one of whose contacts the simulation had made refuse for good
    (before the delivery): the step is due ``need`` after the previous one, its first refusal
    is no earlier than that nor than the moment the last contact died, and it counts only a
    grace period after that.
    """
    gone = oracle.owner_gone.get(tracked.owner_email)
    if gone is None or gone[0] > delivery_order:
        return None
    return max(previous_at + need, gone[1]) + oracle.grace
