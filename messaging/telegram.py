"""Telegram's Bot API over HTTP (``TELEGRAM_API_URL``/bot<token>/<method>), through the checked session.

Sending: ``POST /bot<token>/sendMessage`` with the JSON ``{"chat_id", "text"}``. The API answers
``{"ok": true, ...}`` or ``{"ok": false, "error_code": n, "description": "..."}``. Two answers
say the chat can never be reached again, and are PERMANENT for that contact: 403 (``Forbidden:
bot was blocked by the user``, ``user is deactivated``) and 400 ``Bad Request: chat not
found``. Everything else — 429 (too many requests), 5xx, a timeout, and 401/404 (our own bot
token is wrong: staff fix it) — is TRANSIENT.

Verifying: the contacts page shows ``https://t.me/<TELEGRAM_BOT_NAME>?start=<token>``; the
owner opens it and Telegram sends ``/start <token>`` from their chat to the bot. Telegram
delivers that update to ``POST /telegram/webhook/<TELEGRAM_WEBHOOK_SECRET>`` (register the URL
with ``setWebhook``; Telegram also sends the secret back as ``X-Telegram-Bot-Api-Secret-Token``
when it is given as ``secret_token``, which the view checks too when present).
"""

from __future__ import annotations

from django.conf import settings

from cradle_site.outbound import operator_hosts
from messaging.channels import ChannelError, FailureKind, _json, post_reading

TEXT_MAX = 4096  # Telegram's limit for one message

# (error_code, words of the description) that mean the chat is gone for this bot.
_GONE_DESCRIPTIONS = ("chat not found", "bot was blocked", "user is deactivated", "bot was kicked")


def api_url(method: str) -> str:
    return f"{settings.TELEGRAM_API_URL.rstrip('/')}/bot{settings.TELEGRAM_BOT_TOKEN}/{method}"


def send_message(*, chat_id: str, text: str) -> None:
    """Send ``text`` to ``chat_id``; ``ChannelError`` (with its kind) when Telegram did not take it."""
    if not settings.TELEGRAM_BOT_TOKEN:
        raise ChannelError("telegram: no bot token is configured")
    status, body = post_reading(
        api_url("sendMessage"),
        channel="telegram",
        allowed_hosts=operator_hosts(),
        json={"chat_id": chat_id, "text": text[:TEXT_MAX]},
    )
    answer = _json(body)
    if 200 <= status < 300 and answer.get("ok") is True:
        return
    description = str(answer.get("description", ""))[:200]
    code = answer.get("error_code", status)
    gone = code in (400, 403) and any(words in description.lower() for words in _GONE_DESCRIPTIONS)
    kind = FailureKind.PERMANENT if gone else FailureKind.TRANSIENT
    raise ChannelError(f"telegram: HTTP {status} {description}".strip(), kind=kind)


def start_token(update: dict) -> tuple[str, str] | None:
    """``(token, chat id)`` of an update that is ``/start <token>`` in a private chat, else None."""
    message = update.get("message") if isinstance(update, dict) else None
    if not isinstance(message, dict):
        return None
    text = message.get("text")
    chat = message.get("chat")
    if not isinstance(text, str) or not isinstance(chat, dict) or chat.get("id") is None:
        return None
    parts = text.strip().split()
    if len(parts) != 2 or parts[0].split("@")[0] != "/start":
        return None
    return parts[1], str(chat["id"])
