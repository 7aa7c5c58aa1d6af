"""Webhook signing as Standard Webhooks specifies it (https://www.standardwebhooks.com).

Each webhook recipient has a secret of its own (``whsec_`` + base64 of 32 random bytes),
made by Cradle when the recipient is created (``messaging.models.WebhookSecretField``) and
again when the owner regenerates it, stored encrypted, and shown only to the owner on the
message's page, who hands it to the recipient. So a recipient can check that a delivery
came from Cradle for them, and one recipient's secret signs nothing another will accept.

The delivery itself never carries the secret: it travels over the very channel the
signature vouches for, so whoever could forge a first delivery could hand over a secret of
their own with it (and a dead man's switch delivers once, so "the first" is the only one).

Headers: ``webhook-id`` is the delivery's id (``Delivery.uid``), the same on every attempt,
so a receiver drops a copy it already has; ``webhook-timestamp`` is the attempt's time, so a
receiver refuses a request replayed after its tolerance (5 minutes in the reference
libraries); ``webhook-signature`` is ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``,
computed by the ``standardwebhooks`` package, the reference implementation receivers verify with.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signed_headers(*, secret: str, webhook_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The request's headers: content type plus the three Standard Webhooks headers, signed with ``secret``."""
    signature = Webhook(secret).sign(msg_id=webhook_id, timestamp=at, data=body.decode("utf-8"))
    return {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
