"""User B cannot see, download or request anything of user A's messages by any link or id (issue 15).

Table-driven over the URL resolver: every route whose view lives in ``messaging`` (the pages,
the public token pages, the ping URL, and the API) must have an entry in ``ROUTES``, so a route
added later fails ``test_every_messaging_route_has_an_entry`` until someone decides how an
outsider is kept out of it. The admin (staff only, its own check) is walked elsewhere.

A has a message with a text, a title, an e-mail and a webhook recipient, an attached file, a
"you are named" notice, a pause, a contact, a check-in link and a delivered message with a
delivery link and a file. B is an ordinary editor, signed in on the pages and holding an API
key with every scope. Each route is called by B with A's ids (and, where a token is the
authority, with B's own token and A's ids, or with a token B made up), with every method the
route could take. Whatever the answer, it holds none of A's text, title, file name, file bytes,
addresses or tokens, and not one row of A's changes (nor A's audit log). Routes that name one
of A's objects must answer 404 (a 405 or 403 for a method the route refuses is fine too, but
one method at least must reach the lookup and say 404).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import FieldError
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.scopes import SCOPES
from messaging import attachments, delivery_links, links, owner_contacts, pauses, ping, services, trusted
from messaging.models import AccessRequest, Delivery, DeliveryLink, Message, NamedNotice, TrustedContact
from ops.audit_models import AuditEvent
from tests.conftest import make_api_client
from tests.site.walk import resolved_routes

pytestmark = pytest.mark.django_db

TEXT = "A-SECRET-TEXT-3f9e the safe code is 4471"
TITLE = "A-SECRET-TITLE-b2c1"
FILE_NAME = "A-SECRET-FILE-8d0a will.pdf"
FILE_BYTES = b"%PDF-1.4 A-SECRET-BYTES-77e1 the deeds of the house"
DELIVERED_TEXT = "A-SECRET-DELIVERED-1c5b for Sam only"
DELIVERED_BYTES = b"%PDF-1.4 A-SECRET-DELIVERED-BYTES-90ab"
RAE = "a-secret-rae-6e2f@example.org"
SAM = "a-secret-sam-4a7d@example.org"
HOOK = "https://hooks.example.org/a-secret-hook-0b3c"
CONTACT = "a-secret-phone-5f5f@example.org"
TRUSTED = "a-secret-tess-2d8e@example.org"
MADE_UP = "x" * 43  # a token no one was given


@dataclass
class People:
    a_message: Message
    a_recipient_id: int
    a_webhook_recipient_id: int
    a_attachment_id: int
    a_delivered: Message
    a_delivered_attachment_id: int
    a_pause_id: int
    a_contact_id: int
    a_trusted_id: int
    a_request_id: int
    a_secrets: list[str]  # every string of A's that B must never read, tokens included
    b_message: Message
    b_delivery_token: str
    b_ping_token: str


def _a_side(owner) -> tuple[dict, list[str]]:
    message, key = services.message_create(
        owner=owner,
        title=TITLE,
        content=TEXT,
        initial_delay_months=1,
        recipients=[
            {"name": "Rae", "contact": RAE, "contact_type": "email", "tell_named": True},
            {"name": "Hook", "contact": HOOK, "contact_type": "webhook"},
        ],
    )
    Message.objects.filter(pk=message.pk).update(warning_level=1)  # every answer has something to act on
    attachment = attachments.attachment_add(message=message, stream=io.BytesIO(FILE_BYTES), name=FILE_NAME)
    named_token = NamedNotice.objects.get(message=message).pending_token
    delivered, _key = services.message_create(
        owner=owner,
        content=DELIVERED_TEXT,
        initial_delay_months=1,
        recipients=[{"name": "Sam", "contact": SAM, "contact_type": "email"}],
    )
    delivered_file = attachments.attachment_add(message=delivered, stream=io.BytesIO(DELIVERED_BYTES), name="sam.pdf")
    now = timezone.now()
    Message.objects.filter(pk=delivered.pk).update(state=Message.State.DELIVERED, is_active=False, delivered_at=now)
    sent = Delivery.objects.create(
        message=delivered, recipient=delivered.recipients.get(), state=Delivery.State.SENT, delivered_at=now
    )
    link, delivery_token = delivery_links.link_create(delivery=sent, reason=DeliveryLink.Reason.DELIVERED, now=now)
    delivery_links.link_delivered(link=link, sent_at=now)
    quiet, _key = services.message_create(
        owner=owner, content="A quiet one", initial_delay_months=1, recipients=[{"name": "Q", "contact": RAE}]
    )
    pause = pauses.pause_start(owner=owner, until=now + timedelta(days=7), message=quiet)
    contact, _link = owner_contacts.contact_add(owner=owner, kind="email", address=CONTACT)
    hook_secret = message.recipients.get(name="Hook").webhook_secret
    # A trusted contact with a request waiting (messaging.trusted): its page's token is A's secret.
    trusted.trusted_access_set(message=message, mode="recipients")
    trusted_token = "t" * 43
    tess = TrustedContact.objects.create(
        owner=owner,
        name="Tess",
        email=TRUSTED,
        wait_days=7,
        token_hash=trusted.token_hash(trusted_token),
        verified_at=now,
    )
    request = AccessRequest.objects.create(
        owner=owner, contact=tess, requested_at=now, grant_at=now + timedelta(days=7)
    )
    facts = {
        "message": message,
        "recipient_id": message.recipients.get(name="Rae").pk,
        "webhook_recipient_id": message.recipients.get(name="Hook").pk,
        "attachment_id": attachment.pk,
        "delivered": delivered,
        "delivered_attachment_id": delivered_file.pk,
        "pause_id": pause.pk,
        "contact_id": contact.pk,
        "trusted_id": tess.pk,
        "request_id": request.pk,
    }
    secrets = [
        TEXT,
        TITLE,
        FILE_NAME,
        RAE,
        SAM,
        HOOK,
        CONTACT,
        TRUSTED,
        DELIVERED_TEXT,
        key,
        hook_secret,
        trusted_token,
    ]
    secrets += [named_token, delivery_token, links.checkin_token(message), ping.ping_token_create(owner=owner).secret]
    return facts, secrets


@pytest.fixture
def people(owner, other_user) -> People:
    a, secrets = _a_side(owner)
    b_message, _key = services.message_create(
        owner=other_user,
        content="B's own",
        initial_delay_months=1,
        recipients=[{"name": "Z", "contact": "z@b.example"}],
    )
    now = timezone.now()
    Message.objects.filter(pk=b_message.pk).update(state=Message.State.DELIVERED, is_active=False, delivered_at=now)
    b_sent = Delivery.objects.create(
        message=b_message, recipient=b_message.recipients.get(), state=Delivery.State.SENT, delivered_at=now
    )
    b_link, b_token = delivery_links.link_create(delivery=b_sent, reason=DeliveryLink.Reason.DELIVERED, now=now)
    delivery_links.link_delivered(link=b_link, sent_at=now)
    return People(
        a_message=a["message"],
        a_recipient_id=a["recipient_id"],
        a_webhook_recipient_id=a["webhook_recipient_id"],
        a_attachment_id=a["attachment_id"],
        a_delivered=a["delivered"],
        a_delivered_attachment_id=a["delivered_attachment_id"],
        a_pause_id=a["pause_id"],
        a_contact_id=a["contact_id"],
        a_trusted_id=a["trusted_id"],
        a_request_id=a["request_id"],
        a_secrets=[s for s in secrets if s],
        b_message=b_message,
        b_delivery_token=b_token,
        b_ping_token=ping.ping_token_create(owner=other_user).secret,
    )


# What B is: signed in on the pages, or calling the API with a key of every scope, or nobody
# (the public token pages, which need no account: B is signed in there too, which changes nothing).
PAGE, API = "page", "api"
PAGE_METHODS = ("get", "post")
API_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Entry:
    kwargs: Callable[[People], dict]
    # True: the URL names one of A's objects (by id) and must be a 404 for B. False: the route
    # acts on B's own account or on the token B holds; it must still show or change nothing of A's.
    names_a: bool = True
    body: Callable[[People], dict] = lambda p: {}
    # The answers that refuse B (when ``names_a``); one of them must be ``must_answer``.
    refusals: tuple[int, ...] = (403, 404, 405)
    must_answer: int = 404


def _msg(p: People) -> dict:
    return {"pk": p.a_message.pk}


def _none(p: People) -> dict:
    return {}


ROUTES: dict[str, Entry] = {
    # The owner's pages, with A's ids.
    "messaging:message_detail": Entry(_msg),
    "messaging:message_edit": Entry(_msg, body=lambda p: {"content": "B was here", "initial_delay_months": "1"}),
    "messaging:recipient_preview": Entry(lambda p: {"pk": p.a_message.pk, "recipient_pk": p.a_recipient_id}),
    "messaging:recipient_secret": Entry(
        lambda p: {"pk": p.a_message.pk, "recipient_pk": p.a_webhook_recipient_id}, body=lambda p: {"do": "show"}
    ),
    "messaging:named_resend": Entry(lambda p: {"pk": p.a_message.pk, "recipient_pk": p.a_recipient_id}),
    "messaging:message_pause": Entry(_msg, body=lambda p: {"until": (timezone.now() + timedelta(days=2)).date()}),
    "messaging:pause_end": Entry(lambda p: {"pause_pk": p.a_pause_id}),
    "messaging:attachment_upload": Entry(_msg),
    "messaging:attachment_download": Entry(lambda p: {"pk": p.a_message.pk, "attachment_id": p.a_attachment_id}),
    "messaging:attachment_remove": Entry(lambda p: {"pk": p.a_message.pk, "attachment_id": p.a_attachment_id}),
    "messaging:message_action": Entry(lambda p: {"pk": p.a_message.pk, "action": "revoke"}),
    "messaging:owner_contact_verify": Entry(lambda p: {"pk": p.a_contact_id}, body=lambda p: {"code": "123456"}),
    "messaging:owner_contact_resend": Entry(lambda p: {"pk": p.a_contact_id}),
    "messaging:owner_contact_level": Entry(lambda p: {"pk": p.a_contact_id}, body=lambda p: {"first_level": "5"}),
    "messaging:owner_contact_remove": Entry(lambda p: {"pk": p.a_contact_id}),
    "messaging:trusted_access": Entry(_msg, body=lambda p: {"mode": "contact"}),
    "messaging:trusted_contact_remove": Entry(lambda p: {"pk": p.a_trusted_id}),
    "messaging:access_refuse": Entry(lambda p: {"pk": p.a_request_id}),
    # B's own lists and forms: they act on B only.
    "messaging:trusted_contacts": Entry(_none, names_a=False),
    "messaging:message_list": Entry(_none, names_a=False),
    "messaging:message_create": Entry(_none, names_a=False),
    "messaging:reset_all": Entry(_none, names_a=False),
    "messaging:projection": Entry(_none, names_a=False, body=lambda p: {"message": p.a_message.pk}),
    "messaging:pause_settings": Entry(_none, names_a=False),
    "messaging:ping_settings": Entry(_none, names_a=False),
    "messaging:owner_contacts": Entry(_none, names_a=False),
    "messaging:owner_contact_add": Entry(_none, names_a=False),
    "messaging:owner_contacts_test": Entry(_none, names_a=False),
    # The revocation key is the authority there; B does not hold A's.
    "messaging:public_revoke": Entry(_none, names_a=False, body=lambda p: {"key": MADE_UP}),
    # Token pages: a token B made up, or B's own token with A's ids.
    # A check-in link is signed (messaging.links): a token B made up is a bad link, a 400.
    "messaging:checkin": Entry(
        lambda p: {"token": MADE_UP}, body=lambda p: {"answer": "reset"}, refusals=(400, 405), must_answer=400
    ),
    "messaging:checkin_revoke": Entry(
        lambda p: {"token": MADE_UP}, body=lambda p: {"confirm": "yes"}, refusals=(400, 405), must_answer=400
    ),
    "messaging:named_confirm": Entry(lambda p: {"token": MADE_UP}),
    "trusted_page": Entry(lambda p: {"token": MADE_UP}),
    "trusted_request": Entry(lambda p: {"token": MADE_UP}),
    "trusted_pause": Entry(lambda p: {"token": MADE_UP}),
    "delivery_page": Entry(lambda p: {"token": MADE_UP}),
    "delivery_renew": Entry(lambda p: {"token": MADE_UP}),
    "delivery_file": Entry(lambda p: {"token": p.b_delivery_token, "attachment_id": p.a_delivered_attachment_id}),
    "ping": Entry(lambda p: {"token": MADE_UP}),
    "ping_message": Entry(lambda p: {"token": p.b_ping_token, "message_id": p.a_message.pk}),
    "telegram_webhook": Entry(lambda p: {"secret": MADE_UP}, names_a=False),
    # The API, with B's key of every scope.
    "api:messaging-message-detail": Entry(_msg, body=lambda p: {"title": "B was here"}),
    "api:messaging-message-logs": Entry(_msg),
    "api:messaging-message-reset": Entry(_msg),
    "api:messaging-message-continue": Entry(_msg),
    "api:messaging-message-revoke": Entry(_msg),
    "api:messaging-message-webhook-secrets": Entry(_msg),
    "api:messaging-message-tell-named": Entry(lambda p: {"pk": p.a_message.pk, "recipient_id": p.a_recipient_id}),
    "api:messaging-attachment-list": Entry(_msg),
    "api:messaging-attachment-detail": Entry(lambda p: {"pk": p.a_message.pk, "attachment_id": p.a_attachment_id}),
    "api:messaging-pause-detail": Entry(lambda p: {"pk": p.a_pause_id}),
    "api:messaging-pause-end": Entry(lambda p: {"pk": p.a_pause_id}),
    "api:messaging-owner-contact-detail": Entry(lambda p: {"pk": p.a_contact_id}, body=lambda p: {"first_level": 5}),
    "api:messaging-owner-contact-resend": Entry(lambda p: {"pk": p.a_contact_id}),
    "api:messaging-owner-contact-verify": Entry(lambda p: {"pk": p.a_contact_id}, body=lambda p: {"code": "123456"}),
    "api:messaging-trusted-access": Entry(_msg, body=lambda p: {"mode": "contact"}),
    "api:messaging-trusted-contact-detail": Entry(lambda p: {"pk": p.a_trusted_id}),
    "api:messaging-access-request-detail": Entry(lambda p: {"pk": p.a_request_id}),
    "api:messaging-access-request-refuse": Entry(lambda p: {"pk": p.a_request_id}),
    "api:messaging-trusted-contact-list": Entry(_none, names_a=False),
    "api:messaging-access-request-list": Entry(_none, names_a=False),
    "api:messaging-message-list": Entry(_none, names_a=False),
    "api:messaging-message-reset-all": Entry(_none, names_a=False),
    "api:messaging-pause-list": Entry(_none, names_a=False),
    "api:messaging-owner-contact-list": Entry(_none, names_a=False),
    "api:messaging-owner-contact-test-warning": Entry(_none, names_a=False),
    # "Check in this message": A's message by id is not B's to reset.
    "api:checkin": Entry(_none, names_a=False, body=lambda p: {"message": p.a_message.pk}),
}


def _is_messaging(callback) -> bool:
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None) or callback
    return view.__module__.split(".")[0] == "messaging"


def _messaging_routes() -> set[str]:
    return {
        name
        for name, route, callback in resolved_routes()
        if not route.startswith("admin/") and _is_messaging(callback)
    }


def test_every_messaging_route_has_an_entry():
    assert _messaging_routes() == set(ROUTES), "a messaging route is missing from ROUTES, or gone"


# Where A's rows are found from each model of messaging (and the audit log): every model must
# have one, so a new model is watched without anyone remembering to add it.
OWNER_PATHS = ("owner", "message__owner", "delivery__message__owner", "recipient__message__owner", "user")


def _a_rows(owner) -> dict[str, list | None]:
    """A's rows of each model, found by every path to an owner it has (a staff alarm names a
    delivery or a message: both paths count)."""
    found = {}
    for model in [*apps.get_app_config("messaging").get_models(), AuditEvent]:
        paths = []
        for path in OWNER_PATHS:
            try:
                model._base_manager.filter(**{path: owner}).query  # noqa: B018 - resolves the path
            except FieldError:
                continue
            paths.append(path)
        if not paths:
            found[model._meta.label] = None  # no way to A: the test below names it
            continue
        mine = Q()
        for path in paths:
            mine |= Q(**{path: owner})
        found[model._meta.label] = list(model._base_manager.filter(mine).distinct().order_by("pk").values())
    return found


def test_every_messaging_model_has_a_way_to_its_owner(owner):
    missing = sorted(label for label, rows in _a_rows(owner).items() if rows is None)
    assert missing == [], missing


def _body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _leaks(response, secrets: list[str]) -> list[str]:
    body = _body_of(response) + "".join(f"{k}: {v}" for k, v in response.items()).encode()
    found = [s[:16] for s in secrets if s.encode() in body]
    found += [label for label, raw in (("file bytes", FILE_BYTES), ("delivered bytes", DELIVERED_BYTES)) if raw in body]
    return found


def _cases() -> list:
    return [pytest.param(name, id=name) for name in sorted(ROUTES)]


@pytest.mark.parametrize("name", _cases())
def test_b_gets_nothing_of_a_by_any_link_or_id(name, people, owner, other_user, settings):
    settings.TELEGRAM_WEBHOOK_SECRET = "the-real-webhook-secret"
    entry = ROUTES[name]
    api = name.startswith("api:")
    if api:
        caller = make_api_client(other_user, sorted(SCOPES))
    else:
        caller = Client()
        caller.force_login(other_user)
    url = reverse(name, kwargs=entry.kwargs(people))
    before = _a_rows(owner)
    statuses = {}
    for method in API_METHODS if api else PAGE_METHODS:
        body = entry.body(people) if method != "get" else {}
        if api:
            response = getattr(caller, method)(url, body, format="json")
        else:
            response = getattr(caller, method)(url, body)
        statuses[method] = response.status_code
        assert response.status_code != 500, (name, method)
        assert _leaks(response, people.a_secrets) == [], (name, method, response.status_code)
        if entry.names_a:
            assert response.status_code in entry.refusals, (name, method, response.status_code)
    assert _a_rows(owner) == before, f"{name}: B changed something of A's"
    if entry.names_a:
        assert entry.must_answer in statuses.values(), (name, statuses)


def test_the_walk_can_fail_a_leak_when_a_owns_the_request(people, owner):
    """The checks are real: A's own page shows A's text and file, and A's download gives the bytes."""
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("messaging:message_detail", args=[people.a_message.pk]))
    assert _leaks(page, people.a_secrets)
    download = client.get(reverse("messaging:attachment_download", args=[people.a_message.pk, people.a_attachment_id]))
    assert download.status_code == 200 and "file bytes" in _leaks(download, people.a_secrets)
