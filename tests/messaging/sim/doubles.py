"""The far ends of the simulation: an SMTP relay and webhook receivers that fail on cue.

Both record what they *accepted*, with the simulated time and an order stamp, and nothing
else: the oracle judges the code from these records alone. Failures come from ``FAULTS``:

- transient (the default): the relay disconnects (``SMTPServerDisconnected``) and the
  receivers answer 503 or drop the connection, while a window is open; a webhook may also
  take the POST and then time out (``ambiguous``: it arrived, the sender cannot know);
- permanent (only in the simulation's permanent mode, for code that tells the two apart):
  the relay refuses the addresses in ``refused_addresses`` with 550 and the receivers in
  ``gone_urls`` answer 410 Gone, for ever.

In child processes (the MariaDB variant) the relay reads its switches from the control
file named by ``CRADLE_SIM_CONTROL`` and appends what it accepts to ``CRADLE_SIM_MAILBOX``
(one JSON line per e-mail, written with O_APPEND so processes never interleave a line).
"""

from __future__ import annotations

import json
import os
import random
import re
import smtplib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import requests
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

HOOK_HOST = "hooks.sim.test"
HOOK_PATTERN = re.compile(rf"https://{re.escape(HOOK_HOST)}/.*")
# Headers a sender may use to name a delivery so a receiver can drop a second copy.
DELIVERY_ID_HEADERS = ("webhook-id", "Idempotency-Key", "X-Cradle-Delivery-Id", "X-Cradle-Delivery")

_order_lock = threading.Lock()
_last_order = 0


def order_stamp() -> int:
    """A strictly increasing stamp; CLOCK_MONOTONIC is one clock for every process of the machine,
    and time-machine leaves it alone, so stamps of the parent and its children compare."""
    global _last_order
    with _order_lock:
        _last_order = max(_last_order + 1, time.monotonic_ns())
        return _last_order


@dataclass
class Faults:
    smtp_down: bool = False
    hooks_down: bool = False
    # The chance that an accepted webhook POST is answered too late (it arrived; the sender times out).
    hooks_ambiguous: float = 0.0
    refused_addresses: set[str] = field(default_factory=set)  # 550 for ever (permanent mode)
    gone_urls: set[str] = field(default_factory=set)  # 410 for ever (permanent mode)
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def reset(self, *, seed: int) -> None:
        self.smtp_down = self.hooks_down = False
        self.hooks_ambiguous = 0.0
        self.refused_addresses.clear()
        self.gone_urls.clear()
        self.rng = random.Random(seed)


FAULTS = Faults()


@dataclass(frozen=True)
class Accepted:
    """One e-mail or POST the far end took: what, for whom, when (simulated) and in which order."""

    channel: str  # "email" or "webhook"
    to: str  # the address or URL
    subject: str
    body: str
    at: datetime
    order: int
    delivery_id: str = ""
    ambiguous: bool = False  # the sender was told it failed (a timeout after the far end took it)


ACCEPTED: list[Accepted] = []


def _control() -> dict:
    path = os.environ.get("CRADLE_SIM_CONTROL")
    if not path:
        return {}
    with open(path) as handle:
        return json.load(handle)


def _record(item: Accepted) -> None:
    mailbox = os.environ.get("CRADLE_SIM_MAILBOX")
    if not mailbox:
        ACCEPTED.append(item)
        return
    line = json.dumps({**item.__dict__, "at": item.at.isoformat()}) + "\n"
    fd = os.open(mailbox, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class Mailbox:
    """What child processes accepted (``CRADLE_SIM_MAILBOX``), read on from where the last read stopped."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.items: list[Accepted] = []

    def read(self) -> list[Accepted]:
        if os.path.exists(self.path):
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next read
            self.offset += len(complete)
            for line in complete.decode().splitlines():
                data = json.loads(line)
                data["at"] = datetime.fromisoformat(data["at"])
                self.items.append(Accepted(**data))
        return self.items


class FlakyRelay(BaseEmailBackend):
    """``EMAIL_BACKEND`` of the simulation: an SMTP relay that is sometimes down."""

    def send_messages(self, email_messages) -> int:
        control = _control()
        down = control.get("smtp_down", FAULTS.smtp_down)
        for email in email_messages:
            if down:
                raise smtplib.SMTPServerDisconnected("simulated relay outage")
            refused = set(email.to) & set(control.get("refused", FAULTS.refused_addresses))
            if refused:
                raise smtplib.SMTPRecipientsRefused({a: (550, b"5.1.1 no such mailbox") for a in refused})
            body = email.body
            for to in email.to:
                _record(
                    Accepted(
                        channel="email",
                        to=to,
                        subject=str(email.subject),
                        body=body,
                        at=timezone.now(),
                        order=order_stamp(),
                        delivery_id=str(email.extra_headers.get("Message-ID", "")),
                    )
                )
        return len(email_messages)


def delivery_id_of(headers) -> str:
    for name in DELIVERY_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return ""


def webhook_callback(request):
    """``responses`` callback for every URL under HOOK_HOST."""
    url = request.url
    if url in _control().get("gone", FAULTS.gone_urls):
        return (410, {}, "gone")
    if _control().get("hooks_down", FAULTS.hooks_down):
        if FAULTS.rng.random() < 0.5:
            raise requests.ConnectionError("simulated: connection refused")
        return (503, {}, "busy")
    body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
    ambiguous = FAULTS.rng.random() < _control().get("hooks_ambiguous", FAULTS.hooks_ambiguous)
    _record(
        Accepted(
            channel="webhook",
            to=url,
            subject="",
            body=body,
            at=timezone.now(),
            order=order_stamp(),
            delivery_id=delivery_id_of(request.headers),
            ambiguous=ambiguous,
        )
    )
    if ambiguous:
        raise requests.ReadTimeout("simulated: the receiver took the POST and answered too late")
    return (200, {}, "ok")
