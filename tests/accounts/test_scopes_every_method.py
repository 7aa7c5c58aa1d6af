"""Every API route, every method, each single-scope key: exactly what the scope vocabulary says.

The oracle below is written from the vocabulary (``accounts/scopes.py``'s descriptions), not
from the views' declarations: a key may read an area with ``<area>:read`` (HEAD and OPTIONS
are reads), change it with ``<area>:write``; ``tasks:create`` queues tasks,
``tasks:read_status`` reads one task; ``messages:checkin`` checks in; keys never manage keys. Routes come from the URL
resolver, so a new one fails ``test_it_knows_every_api_route`` until the oracle has it.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import scopes
from tests.conftest import make_api_client
from tests.site.walk import build_world, resolved_routes

pytestmark = pytest.mark.django_db

METHODS = ("get", "head", "options", "post", "put", "patch", "delete")
READS = {"get", "head", "options"}
NO_KEY = None  # no key may, whatever it holds


def _needed(name: str, method: str):
    """The one scope this call needs (``NO_KEY``: none), per the vocabulary."""
    read = method in READS
    if name == "api:me":
        return "account:read" if read else NO_KEY
    if name == "api:apikey-list":
        return "account:read" if method in READS else NO_KEY
    if name == "api:apikey-revoke":
        return NO_KEY
    if name.startswith("api:messaging-"):
        return "messages:read" if read else "messages:write"
    if name == "api:checkin":
        return "messages:checkin"  # POST only; any other method is a 405 (messages:write includes it)
    if name.startswith("api:analytics-"):
        return "analytics:read" if read else NO_KEY
    if name in ("api:publishing_tasks", "api:publishing_posts", "api:publishing_media"):  # queue posts
        return "publishing:read" if read else ("tasks:create" if method == "post" else NO_KEY)
    if name == "api:publishing_task_status":
        return "tasks:read_status" if read else NO_KEY
    if name == "api:audit-list":
        return "audit:read" if read else NO_KEY
    if name.startswith("api:publishing_"):
        return "publishing:read" if read else "publishing:write"
    raise KeyError(name)


def _api_routes():
    return sorted(name for name, _route, _callback in resolved_routes() if name.startswith("api:"))


def test_it_knows_every_api_route():
    for name in _api_routes():
        _needed(name, "get")  # raises for a route the oracle does not know


def _url(name: str, w) -> str:
    wanted = reverse_kwargs(name)
    if "pk" not in wanted:
        return reverse(name)
    if "attachment_id" in wanted:
        return reverse(name, kwargs={"pk": w.message.pk, "attachment_id": w.attachment.pk})
    if "recipient_id" in wanted:
        # Any recipient: the walk's PUT replaces them and its DELETE removes the message (then a 404).
        recipient = w.message.recipients.order_by("pk").first()
        return reverse(name, kwargs={"pk": w.message.pk, "recipient_id": recipient.pk if recipient else 1})
    pk = {
        "api:apikey-revoke": w.api_key.pk,
        "api:publishing_source_scan": w.source.pk,
        "api:publishing_source": w.source.pk,
    }.get(name)
    if pk is None:
        if name.startswith("api:messaging-"):
            pk = w.message.pk
        elif name.startswith(("api:publishing_task", "api:publishing_post")):
            pk = w.task.pk
        else:
            pk = w.project.pk
    return reverse(name, kwargs={"pk": pk})


def reverse_kwargs(name: str) -> set[str]:
    from django.urls import get_resolver

    namespace, _, short = name.partition(":")
    resolver = get_resolver().namespace_dict[namespace][1]
    possibilities = resolver.reverse_dict.getlist(short)
    return set(possibilities[0][0][0][1]) if possibilities else set()


@pytest.mark.parametrize("scope", sorted(scopes.SCOPES))
def test_each_single_scope_key_gets_exactly_its_scope_on_every_route_and_method(
    scope, owner, other_user, tmp_path, settings
):
    root = (tmp_path / "media").resolve()
    media_root = root / str(owner.pk)  # the owner's own folder (publishing.folders)
    media_root.mkdir(parents=True)
    settings.PUBLISHING_LOCAL_ROOTS = [root]
    w = build_world(owner, other_user, media_root)
    granted = scopes.expand([scope])
    client = make_api_client(owner, [scope])
    wrong = []
    for name in _api_routes():
        for method in METHODS:
            url = _url(name, w)
            needed = _needed(name, method)
            allowed = needed is not NO_KEY and needed in granted
            status = getattr(client, method)(url, {} if method in {"post", "put", "patch"} else None).status_code
            # Refused: 403, or 405 for a method the view has not (nothing served either way).
            refused_ok = status in {403, 405}
            if (allowed and status == 403) or (not allowed and not refused_ok) or status in {401, 429, 500}:
                wrong.append((name, method.upper(), status, "allowed" if allowed else "refused"))
    assert wrong == []


def test_a_write_answer_to_a_key_without_the_read_scope_is_only_the_id_and_state(owner, make_message_for_scopes):
    message = make_message_for_scopes(owner)
    writer = make_api_client(owner, ["messages:write"])
    answer = writer.patch(reverse("api:messaging-message-detail", args=[message.pk]), {}, format="json")
    assert answer.status_code == 200
    assert set(answer.json()) <= {"id", "state", "status"} and answer.json()["id"] == message.pk
    assert "the secret plan" not in answer.content.decode()
    reset = writer.post(reverse("api:messaging-message-reset", args=[message.pk]))
    assert reset.status_code == 200 and set(reset.json()) <= {"id", "state", "status"}
    reader_writer = make_api_client(owner, ["messages:write", "messages:read"])
    full = reader_writer.patch(reverse("api:messaging-message-detail", args=[message.pk]), {}, format="json")
    assert "the secret plan" in full.content.decode()


def test_errors_still_name_the_field_for_a_write_only_key(owner, make_message_for_scopes):
    message = make_message_for_scopes(owner)
    writer = make_api_client(owner, ["messages:write"])
    answer = writer.patch(
        reverse("api:messaging-message-detail", args=[message.pk]), {"recipients": "x"}, format="json"
    )
    assert answer.status_code == 400 and "recipients" in answer.json()["error"]["fields"]


@pytest.fixture
def make_message_for_scopes():
    from messaging.services import message_create

    def make(owner):
        recipients = [{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}]
        return message_create(owner=owner, content="the secret plan", initial_delay_months=1, recipients=recipients)[0]

    return make
