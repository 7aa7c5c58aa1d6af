"""A messages API request does bounded work: at most 50 recipients, and no DNS lookup for webhooks.

Two requests naming 200 webhooks each once held both gunicorn workers on name lookups; the
request now checks a webhook URL by its text, and the address is checked when the delivery
connects (cradle_site.outbound). Lookups are counted at ``socket.getaddrinfo``, where every
resolver call of Python's ends up. That a name accepted here is refused when the delivery
connects is proven against real sockets in tests/site/test_outbound_channels.py.
"""

from __future__ import annotations

import socket
import time

import pytest
from django.urls import reverse

from messaging import services
from messaging.models import Message, Recipient

pytestmark = pytest.mark.django_db
RW = ["messages:read", "messages:write"]
URL = reverse("api:messaging-message-list")
INTERNAL = "https://resolves-inside.example.com/cradle"


@pytest.fixture
def lookups(monkeypatch) -> list:
    """Every getaddrinfo call made during the test; each one fails, as an unresolvable name would."""
    seen = []

    def counting(host, *args, **kwargs):
        seen.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    return seen


def _body(count: int, host: str = "hooks-{i}.no-such-name.invalid") -> dict:
    return {
        "content": "the plan",
        "initial_delay_months": 2,
        "recipients": [
            {"name": f"Hook {i}", "contact": f"https://{host.format(i=i)}/cradle", "contact_type": "webhook"}
            for i in range(count)
        ],
    }


def test_it_refuses_200_webhook_recipients_quickly_naming_the_field_with_no_lookup(api_client_for, owner, lookups):
    api = api_client_for(owner, RW)
    started = time.monotonic()
    response = api.post(URL, _body(200), format="json")
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"recipients": [f"At most {services.RECIPIENTS_MAX} recipients."]}
    assert lookups == []
    assert elapsed < 2, f"{elapsed:.2f}s for a refusal"
    assert not Message.objects.exists()


def test_it_accepts_50_webhooks_with_unresolvable_names_without_a_lookup(api_client_for, owner, lookups):
    api = api_client_for(owner, RW)
    response = api.post(URL, _body(services.RECIPIENTS_MAX), format="json")
    assert response.status_code == 201, response.content[:500]
    assert lookups == []
    assert Recipient.objects.filter(message_id=response.json()["id"]).count() == services.RECIPIENTS_MAX


def test_an_update_with_51_recipients_is_refused_the_same_way(api_client_for, owner, make_message, lookups):
    message = make_message(owner)
    api = api_client_for(owner, RW)
    response = api.patch(
        reverse("api:messaging-message-detail", args=[message.pk]),
        {"recipients": _body(services.RECIPIENTS_MAX + 1)["recipients"]},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["recipients"]
    assert lookups == []


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254\\@example.com/../latest/meta-data/",
        "https://user:pass@example.com/hook",
        "https://user@example.com/hook",
        "https://127.0.0.1/hook",
        "https://2130706433/hook",
        "https://0x7f.0.0.1/hook",
        "https://0177.0.0.1/hook",
        "https://127.1/hook",
        "https://0.0.0.0/hook",
        "https://[::]/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::127.0.0.1]/hook",
        "https://[64:ff9b::7f00:1]/hook",
        "https://[2002:7f00:1::]/hook",
        "https://[fe80::1%25eth0]/hook",
        "https://10.0.0.5/hook",
        "https://localhost/hook",
        "https://exa mple.com/hook",
        "http://example.com/hook",
    ],
)
def test_it_refuses_an_ambiguous_or_internal_webhook_url_by_its_text(api_client_for, owner, lookups, url):
    api = api_client_for(owner, RW)
    body = _body(1) | {"recipients": [{"name": "Hook", "contact": url, "contact_type": "webhook"}]}
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content[:500]
    assert list(response.json()["error"]["fields"]) == ["recipients[0].contact"]
    assert lookups == []
    assert not Message.objects.exists()
