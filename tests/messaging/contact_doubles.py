"""Local far ends for the owner-contact tests: a real SMTP server, and the Telegram Bot API and an
SMS gateway as real HTTP servers, each answering with the real request and answer shapes.

- ``SmtpDouble``: aiosmtpd on 127.0.0.1; ``RCPT TO`` an address in ``refuse`` gets ``550 5.1.1``,
  one in ``defer`` gets ``451 4.3.0``, every other gets 250; accepted mails are in ``.mails``
  (``(to, email.message.Message)``). Django's SMTP backend talks to it for real.
- ``BotApiDouble``: ``POST /bot<token>/sendMessage`` with JSON ``{"chat_id", "text"}``; a chat in
  ``blocked`` answers ``403 {"ok": false, "error_code": 403, "description": "Forbidden: bot was
  blocked by the user"}``, one in ``missing`` ``400 … "Bad Request: chat not found"``, ``down``
  answers 502; otherwise ``{"ok": true, "result": {...}}``. Requests are in ``.sent``.
- The same server answers the SMS gateway's shape (``messaging.channels.HttpSmsGateway``):
  ``POST /sms`` with JSON ``{"to", "text"}`` and a bearer token; a number in ``invalid``
  answers ``400 {"error": "invalid_number"}``, ``down`` 503; otherwise 200. In ``.sms``.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.urls import reverse


class _Handler:
    def __init__(self, double: SmtpDouble) -> None:
        self.double = double

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.double.refuse:
            return "550 5.1.1 no such mailbox"
        if address in self.double.defer:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content)
        for to in envelope.rcpt_tos:
            self.double.mails.append((to, parsed))
        return "250 Message accepted"


def _free_port() -> int:
    # aiosmtpd connects to its own port to check it is up, so it needs the number before it binds.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpDouble:
    def __init__(self) -> None:
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.mails: list[tuple[str, email.message.Message]] = []
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=_free_port())

    def start(self) -> SmtpDouble:
        self.controller.start()
        return self

    @property
    def port(self) -> int:
        return self.controller.port

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[email.message.Message]:
        return [mail for to, mail in self.mails if to == address]


def text_of(mail: email.message.Message) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return ""


class BotApiDouble:
    def __init__(self, token: str = "123:bot-token") -> None:
        self.token = token
        self.blocked: set[str] = set()
        self.missing: set[str] = set()
        self.invalid: set[str] = set()
        self.down = False
        self.sent: list[dict] = []
        self.sms: list[dict] = []
        self.sms_auth: list[str] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                if self.path == f"/bot{double.token}/sendMessage":
                    return double._telegram(self, payload)
                if self.path == "/sms":
                    return double._sms(self, payload)
                return self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _telegram(self, handler, payload: dict) -> None:
        chat = str(payload.get("chat_id"))
        if self.down:
            return handler._answer(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
        if chat in self.blocked:
            return handler._answer(
                403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            )
        if chat in self.missing:
            return handler._answer(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
        self.sent.append(payload)
        return handler._answer(200, {"ok": True, "result": {"message_id": len(self.sent), "chat": {"id": chat}}})

    def _sms(self, handler, payload: dict) -> None:
        self.sms_auth.append(handler.headers.get("Authorization", ""))
        if self.down:
            return handler._answer(503, {"error": "unavailable"})
        if payload.get("to") in self.invalid:
            return handler._answer(400, {"error": "invalid_number"})
        self.sms.append(payload)
        return handler._answer(200, {"id": f"sms-{len(self.sms)}"})

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> BotApiDouble:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp(settings):
    double = SmtpDouble().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", double.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.ADMINS = [("Staff", "staff@ops.example.com")]
    yield double
    double.stop()


@pytest.fixture
def bot(settings):
    double = BotApiDouble().start()
    settings.TELEGRAM_BOT_TOKEN = double.token
    settings.TELEGRAM_BOT_NAME = "cradle_test_bot"
    settings.TELEGRAM_API_URL = double.base
    settings.TELEGRAM_WEBHOOK_SECRET = "hook-secret-123"
    settings.MESSAGING_SMS_GATEWAY = "messaging.channels.HttpSmsGateway"
    settings.MESSAGING_SMS_GATEWAY_OPTIONS = {"url": double.base + "/sms", "token": "sms-token"}
    settings.OUTBOUND_ALLOWED_HOSTS = [double.host_port]  # the operator's endpoints, on this machine
    yield double
    double.stop()


def telegram_contact(owner, bot, chat_id: str):
    """A Telegram contact of ``owner`` verified the real way: the deep link's /start reaches the webhook."""
    from messaging import owner_contacts

    contact, link = owner_contacts.contact_add(owner=owner, kind="telegram")
    token = link.rsplit("start=", 1)[1]
    update = {
        "update_id": 1,
        "message": {"message_id": 7, "chat": {"id": int(chat_id), "type": "private"}, "text": f"/start {token}"},
    }
    response = Client().post(
        reverse("telegram_webhook", args=["hook-secret-123"]), update, content_type="application/json"
    )
    assert response.status_code == 200 and response.json() == {"ok": True}
    contact.refresh_from_db()
    return contact


REFUSED: set[str] = set()


class RefusingBackend:
    """``EMAIL_BACKEND``: Django's in-memory outbox, except that it refuses the addresses in
    ``REFUSED`` the way smtplib reports a 550 for the recipient."""

    def __init__(self, *args, **kwargs) -> None:
        from django.core.mail.backends.locmem import EmailBackend

        self.inner = EmailBackend(*args, **kwargs)

    def send_messages(self, messages) -> int:
        import smtplib

        for message in messages:
            refused = set(message.to) & REFUSED
            if refused:
                raise smtplib.SMTPRecipientsRefused({a: (550, b"5.1.1 no such mailbox") for a in refused})
        return self.inner.send_messages(messages)
