"""Webhook deliveries a recipient can verify: Standard Webhooks, one secret per recipient.

Verified with the ``standardwebhooks`` package (the reference verifier), not with our own
arithmetic: a delivery verifies with its recipient's secret, fails with another recipient's,
and a replay after the verifier's 5-minute tolerance is refused.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import responses
import time_machine
from django.urls import reverse
from standardwebhooks import Webhook, WebhookVerificationError

from accounts.models import User
from cradle_site.errors import StateError
from messaging import services, webhook_secrets
from messaging.delivery import deliveries_send
from messaging.models import Message, Recipient
from messaging.sweep import sweep_due
from tests.clock import NOW

pytestmark = pytest.mark.django_db
HOOK_A = "https://a.hooks.example.com/cradle"
HOOK_B = "https://b.hooks.example.com/cradle"
RW = ["messages:read", "messages:write"]


def _hooks(*urls: str) -> list[dict]:
    return [{"name": f"Hook {i}", "contact": url, "contact_type": "webhook"} for i, url in enumerate(urls)]


def _deliver(message: Message) -> dict[str, tuple[bytes, dict]]:
    """Run the ladder's last step and one send at NOW; {url: (body, headers)} as each receiver got them."""
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)
    with time_machine.travel(NOW, tick=False):
        sweep_due()
        deliveries_send()
    return {call.request.url: (call.request.body, dict(call.request.headers)) for call in responses.calls}


@responses.activate
def test_it_signs_each_recipients_delivery_with_that_recipients_secret_only(owner, make_message):
    message = make_message(owner, recipients=_hooks(HOOK_A, HOOK_B))
    responses.post(HOOK_A, status=204)
    responses.post(HOOK_B, status=204)
    got = _deliver(message)
    secret_a, secret_b = (r.webhook_secret for r in message.recipients.order_by("id"))
    assert secret_a != secret_b
    body_a, headers_a = got[HOOK_A]
    body_b, headers_b = got[HOOK_B]
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        assert Webhook(secret_a).verify(body_a, headers_a)["recipient"] == {"name": "Hook 0"}
        assert Webhook(secret_b).verify(body_b, headers_b)["recipient"] == {"name": "Hook 1"}
        # B holds its own secret only: it cannot pass A's delivery off as its own, nor forge one for A.
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(secret_b).verify(body_a, headers_a)
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(secret_a).verify(body_b, headers_b)
    assert headers_a["webhook-id"] != headers_b["webhook-id"]
    assert headers_a["webhook-timestamp"] == str(int(NOW.timestamp()))  # the attempt's time
    for secret in (secret_a, secret_b):
        assert secret.encode() not in body_a + body_b, "the secret never travels with a delivery"


@responses.activate
def test_a_replay_outside_the_tolerance_window_is_refused_by_the_verifier(owner, make_message):
    message = make_message(owner, recipients=_hooks(HOOK_A))
    responses.post(HOOK_A, status=204)
    body, headers = _deliver(message)[HOOK_A]
    secret = message.recipients.get().webhook_secret
    with time_machine.travel(NOW + timedelta(minutes=4, seconds=59), tick=False):
        Webhook(secret).verify(body, headers)  # a slow network is still fine
    with time_machine.travel(NOW + timedelta(minutes=5, seconds=1), tick=False):
        with pytest.raises(WebhookVerificationError, match="too old"):
            Webhook(secret).verify(body, headers)
    # A replay with a fresh timestamp is a new signed text: the old signature does not cover it.
    forged = headers | {"webhook-timestamp": str(int((NOW + timedelta(hours=1)).timestamp()))}
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(secret).verify(body, forged)


def test_each_webhook_recipient_gets_a_standard_webhooks_secret_and_the_others_none(owner, make_message):
    message = make_message(
        owner, recipients=[*_hooks(HOOK_A), {"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}]
    )
    hook, mail = message.recipients.order_by("id")
    assert hook.webhook_secret.startswith("whsec_")
    assert len(base64.b64decode(hook.webhook_secret.removeprefix("whsec_"))) >= 24
    assert mail.webhook_secret == ""


def test_an_edit_keeps_the_secret_of_a_webhook_named_again_and_a_new_address_gets_a_new_one(owner, make_message):
    message = make_message(owner, recipients=_hooks(HOOK_A))
    before = message.recipients.get().webhook_secret
    services.message_update(
        message=message,
        content="changed",
        initial_delay_months=1,
        # The same address spelled with a trailing slash and a capital host is the same recipient.
        recipients=_hooks(HOOK_A.replace("a.hooks", "A.hooks") + "/", HOOK_B),
    )
    kept, new = message.recipients.order_by("id")
    assert kept.webhook_secret == before
    assert new.webhook_secret.startswith("whsec_") and new.webhook_secret != before


def test_regenerating_makes_a_new_secret_and_only_while_the_message_is_on_its_ladder(owner, make_message):
    message = make_message(owner, recipients=_hooks(HOOK_A))
    recipient = message.recipients.get()
    old = recipient.webhook_secret
    new = webhook_secrets.recipient_secret_regenerate(recipient=recipient)
    assert new != old and Recipient.objects.get(pk=recipient.pk).webhook_secret == new
    services.message_revoke(message=message)
    with pytest.raises(StateError):
        webhook_secrets.recipient_secret_regenerate(recipient=recipient)
    assert Recipient.objects.get(pk=recipient.pk).webhook_secret == new


def test_the_page_shows_the_secret_only_in_answer_to_the_owners_post(client, owner, make_message):
    message = make_message(owner, recipients=_hooks(HOOK_A))
    recipient = message.recipients.get()
    client.force_login(owner)
    detail = client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert recipient.webhook_secret not in detail and "Show signing secret" in detail
    url = reverse("messaging:recipient_secret", args=[message.pk, recipient.pk])
    assert client.get(url).status_code == 405
    shown = client.post(url, {"do": "show"})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert recipient.webhook_secret in shown.content.decode()
    regenerated = client.post(url, {"do": "regenerate"})
    fresh = Recipient.objects.get(pk=recipient.pk).webhook_secret
    assert fresh != recipient.webhook_secret
    page = regenerated.content.decode()
    assert fresh in page and recipient.webhook_secret not in page


def test_a_viewer_and_an_outsider_never_see_the_secret(client, owner, other_user, make_message):
    message = make_message(owner, recipients=_hooks(HOOK_A))
    recipient = message.recipients.get()
    url = reverse("messaging:recipient_secret", args=[message.pk, recipient.pk])
    client.force_login(other_user)
    assert client.post(url, {"do": "show"}).status_code == 404
    owner.role = User.Role.VIEWER
    owner.save()
    client.force_login(owner)
    response = client.post(url, {"do": "show"})
    assert response.status_code == 403 and recipient.webhook_secret not in response.content.decode()


def test_the_api_gives_the_secrets_on_a_post_with_the_write_scope_never_on_a_get(api_client_for, owner, make_message):
    message = make_message(owner, recipients=_hooks(HOOK_A))
    recipient = message.recipients.get()
    url = reverse("api:messaging-message-webhook-secrets", args=[message.pk])
    reader = api_client_for(owner, ["messages:read"])
    got = reader.get(reverse("api:messaging-message-detail", args=[message.pk]))
    assert got.status_code == 200 and recipient.webhook_secret not in got.content.decode()
    assert reader.post(url).status_code == 403
    answer = api_client_for(owner, RW).post(url)
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    assert answer.json() == [
        {"recipient_id": recipient.pk, "name": "Hook 0", "webhook_secret": recipient.webhook_secret}
    ]
