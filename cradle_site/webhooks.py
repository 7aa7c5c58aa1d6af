"""Outgoing webhooks, one way for the whole site: the URL rule and the signing.

A webhook URL (a message's webhook recipient, a project's alert webhook) must be https and
name no private or loopback address (``clean_webhook_url``); that check needs no DNS, so a
form or an API call never waits on a resolver, and the address a name resolves to is checked
again when the request is sent (``cradle_site.outbound``).

Signing is Standard Webhooks (https://www.standardwebhooks.com). Each receiver has a secret
of its own (``whsec_`` + base64 of 32 random bytes), made by Cradle when the receiver is
created and again when the owner regenerates it, stored encrypted, and shown only to the
owner in the answer to a POST, who hands it to the receiver. So a receiver can check that a
request came from Cradle for them, and one receiver's secret signs nothing another will accept.

A request never carries the secret: it travels over the very channel the signature vouches
for, so whoever could forge a first request could hand over a secret of their own with it
(and a dead man's switch delivers once, so "the first" is the only one).

Headers: ``webhook-id`` is the request's id (a message ``Delivery.uid``, ``alert_<pk>``), the same on every attempt,
so a receiver drops a copy it already has; ``webhook-timestamp`` is the attempt's time, so a
receiver refuses a request replayed after its tolerance (5 minutes in the reference
libraries); ``webhook-signature`` is ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``,
computed by the ``standardwebhooks`` package, the reference implementation receivers verify with.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from cradle_site.outbound import UnsafeURL, check_url_syntax
from cradle_site.outbound_errors import Kind

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


def clean_webhook_url(url: str) -> str:
    """The cleaned URL ("" for none), or ``ValidationError``: https, and no private or loopback address."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        URLValidator(schemes=["https"])(url)
    except ValidationError:
        raise ValidationError(_("Enter an https:// URL for a webhook."), code="invalid_url") from None
    try:
        check_url_syntax(url)
    except UnsafeURL as exc:
        code = "private_address" if exc.kind == Kind.REFUSED_ADDRESS else "invalid_url"
        raise ValidationError(str(exc), code=code) from None
    return url
