"""Every unsafe API call (POST/PUT/PATCH/DELETE), walked as a viewer and as an outsider.

The (route, method) pairs come from the URL resolver and the DRF views' own method lists
(a viewset's action map, an APIView's handlers), so a new unsafe endpoint fails
``test_it_covers_every_unsafe_api_call`` until it is in ``CALLS``.

The viewer is the owner demoted, with a key holding every scope. The key page offers a
viewer read scopes only, but a key made before a demotion keeps its write scopes, and
``HasScope`` must refuse it anyway; the viewer's browser session (the browsable API) is
walked too. The outsider is another editor with every scope. Each refusal leaves every row
of every project model as it was; the owner's same call changes something.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import scopes
from accounts.models import User
from tests.conftest import make_api_client
from tests.site.walk import (
    CONTACT_CODE,
    World,
    build_world,
    changes,
    data_and_events,
    network_doubles,
    resolved_routes,
    snapshot,
)

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")


def _message_body(w: World) -> dict:
    return {
        "title": "For Sol",
        "content": "a changed plan",
        "initial_delay_months": 3,
        "recipients": [{"name": "Sol", "contact": "sol@example.com", "contact_type": "email"}],
    }


def _no_kwargs(w: World) -> dict:
    return {}


def _no_body(w: World) -> dict:
    return {}


def _message(w: World) -> dict:
    return {"pk": w.message.pk}


def _contact(w: World) -> dict:
    return {"pk": w.contact.pk}


def _project(w: World) -> dict:
    return {"pk": w.project.pk}


@dataclass(frozen=True)
class Call:
    kwargs: Callable[[World], dict] = _no_kwargs
    body: Callable[[World], dict] = _no_body
    # What another editor gets; None when the call names none of the owner's objects (it
    # then acts on the caller's own account, which is no outsider's business).
    outsider: int | None = 404
    # Managing keys needs a browser session (SESSION_ONLY): the owner proves the body there.
    owner_by_session: bool = False
    # False for a POST that only reveals a secret (a write scope guards it, as a write's would):
    # the owner's call is then proven to answer 200 and change nothing.
    changes: bool = True
    # Audit events the owner's call writes when not one per change (None: 1 if it changes data, else 0).
    events: int | None = None


CALLS: dict[tuple[str, str], Call] = {
    ("api:apikey-list", "post"): Call(
        body=lambda w: {"name": "k", "permissions": ["account:read"]}, outsider=None, owner_by_session=True
    ),
    # SESSION_ONLY is refused before the key is looked up: 403 for any id, so nothing leaks.
    ("api:apikey-revoke", "post"): Call(kwargs=lambda w: {"pk": w.api_key.pk}, outsider=403, owner_by_session=True),
    ("api:messaging-message-list", "post"): Call(body=_message_body, outsider=None),
    # One event per message reset: the world's owner has two (one of them paused).
    ("api:messaging-message-reset-all", "post"): Call(outsider=None, events=2),
    ("api:messaging-pause-list", "post"): Call(
        body=lambda w: {"until": (timezone.now() + timedelta(days=3)).isoformat()}, outsider=None
    ),
    ("api:messaging-pause-end", "post"): Call(kwargs=lambda w: {"pk": w.pause.pk}),
    ("api:messaging-owner-contact-list", "post"): Call(
        body=lambda w: {"kind": "email", "address": "alice.work@example.com"}, outsider=None
    ),
    ("api:messaging-owner-contact-detail", "put"): Call(
        kwargs=_contact, body=lambda w: {"label": "phone", "first_level": 4}
    ),
    ("api:messaging-owner-contact-detail", "patch"): Call(kwargs=_contact, body=lambda w: {"first_level": 5}),
    ("api:messaging-owner-contact-detail", "delete"): Call(kwargs=_contact),
    ("api:messaging-owner-contact-verify", "post"): Call(kwargs=_contact, body=lambda w: {"code": CONTACT_CODE}),
    ("api:messaging-owner-contact-resend", "post"): Call(kwargs=_contact),
    # Sends to every verified contact and stores nothing but its audit event.
    ("api:messaging-owner-contact-test-warning", "post"): Call(outsider=None, changes=False, events=1),
    ("api:messaging-trusted-contact-list", "post"): Call(
        body=lambda w: {"name": "Ann", "email": "ann@example.net", "wait_days": 5}, outsider=None
    ),
    ("api:messaging-trusted-contact-detail", "delete"): Call(kwargs=lambda w: {"pk": w.trusted_contact.pk}),
    ("api:messaging-access-request-refuse", "post"): Call(kwargs=lambda w: {"pk": w.access_request.pk}),
    ("api:messaging-trusted-access", "put"): Call(kwargs=_message, body=lambda w: {"mode": "contact"}),
    ("api:checkin", "post"): Call(outsider=None, events=2),  # an outsider checks in their own messages (none)
    ("api:messaging-message-detail", "put"): Call(kwargs=_message, body=_message_body),
    ("api:messaging-message-detail", "patch"): Call(kwargs=_message, body=lambda w: {"title": "Renamed"}),
    ("api:messaging-message-detail", "delete"): Call(kwargs=_message),
    ("api:messaging-message-reset", "post"): Call(kwargs=_message),
    ("api:messaging-message-continue", "post"): Call(kwargs=_message),
    ("api:messaging-message-revoke", "post"): Call(kwargs=_message),
    ("api:messaging-message-webhook-secrets", "post"): Call(kwargs=_message, changes=False),
    ("api:messaging-message-tell-named", "post"): Call(
        kwargs=lambda w: {"pk": w.message.pk, "recipient_id": w.message.recipients.get(name="Rae").pk}
    ),
    ("api:messaging-attachment-list", "post"): Call(kwargs=_message, body=lambda w: {"file": _pdf_upload()}),
    ("api:messaging-attachment-detail", "delete"): Call(
        kwargs=lambda w: {"pk": w.message.pk, "attachment_id": w.attachment.pk}
    ),
    ("api:publishing_projects", "post"): Call(body=lambda w: {"name": "Birds"}, outsider=None),
    ("api:publishing_project", "patch"): Call(kwargs=_project, body=lambda w: {"name": "Renamed"}),
    ("api:publishing_project_alert_webhook_secret", "post"): Call(kwargs=_project, changes=False),
    ("api:publishing_project", "delete"): Call(kwargs=_project, body=lambda w: {"confirm_name": w.project.name}),
    ("api:publishing_sources", "post"): Call(
        kwargs=_project, body=lambda w: {"source_type": "local_folder", "path_or_identifier": w.new_folder()}
    ),
    ("api:publishing_source_scan", "post"): Call(kwargs=lambda w: {"pk": w.source.pk}),
    ("api:publishing_source", "patch"): Call(kwargs=lambda w: {"pk": w.source.pk}, body=lambda w: {"hashtags": "cats"}),
    ("api:publishing_source", "delete"): Call(kwargs=lambda w: {"pk": w.source.pk}, body=lambda w: {"waiting": "keep"}),
    # The project is in the body, not the URL: "No such project." (400, field project) is
    # the answer for any id, so it tells an outsider nothing.
    ("api:publishing_tasks", "post"): Call(body=lambda w: {"project": w.project.pk, "text": "Hello"}, outsider=400),
    ("api:publishing_task_retry", "post"): Call(kwargs=lambda w: {"pk": w.failed_task.pk}),
    ("api:publishing_task_cancel", "post"): Call(kwargs=lambda w: {"pk": w.task.pk}),
    ("api:publishing_task_post_anyway", "post"): Call(kwargs=lambda w: {"pk": w.held_task.pk}),
    ("api:publishing_task_evergreen", "post"): Call(kwargs=lambda w: {"pk": w.published_task.pk}),
    ("api:publishing_task_not_evergreen", "post"): Call(kwargs=lambda w: {"pk": w.evergreen_task.pk}),
    ("api:publishing_task_mark_posted", "post"): Call(kwargs=lambda w: {"pk": w.held_task.pk}),
    ("api:publishing_task_change", "post"): Call(kwargs=lambda w: {"pk": w.task.pk}, body=lambda w: {"priority": 7}),
    # As for tasks: the project is in the body, and any id not the caller's is "No such project.".
    ("api:publishing_posts", "post"): Call(
        body=lambda w: {"project": w.project.pk, "posts": [{"text": "Composed"}]}, outsider=400
    ),
    ("api:publishing_post", "patch"): Call(
        kwargs=lambda w: {"pk": w.task.pk}, body=lambda w: {"posts": [{"text": "Edited"}]}
    ),
    ("api:publishing_post", "delete"): Call(kwargs=lambda w: {"pk": w.task.pk}),
    ("api:publishing_post_duplicate", "post"): Call(kwargs=lambda w: {"pk": w.task.pk}),
    # Saves into the caller's own folder only: an outsider's upload is theirs, nothing of the owner's.
    ("api:publishing_media", "post"): Call(
        body=lambda w: {"file": _png_upload()}, outsider=None, changes=False, events=1
    ),
    # A question about a text: nothing is written by anyone.
    # Against the walk's doubles (tests.site.walk.network_doubles).
    ("api:publishing_account_bluesky", "post"): Call(
        kwargs=_project, body=lambda w: {"handle": "alice.bsky.social", "app_password": "app-pass-1234"}
    ),
    ("api:publishing_account_mastodon", "post"): Call(
        kwargs=_project, body=lambda w: {"instance_url": w.mastodon_url, "access_token": "mastodon-token-1"}
    ),
    ("api:publishing_account", "delete"): Call(kwargs=lambda w: {"pk": w.network_account.pk}),
    ("api:publishing_length", "post"): Call(body=lambda w: {"text": "Hello"}, outsider=None, changes=False),
}


def _png_upload():
    import io

    from tests.publishing.conftest import png_bytes

    handle = io.BytesIO(png_bytes(5))
    handle.name = "walk.png"
    return handle


def _pdf_upload():
    import io

    handle = io.BytesIO(b"%PDF-1.4 walked")
    handle.name = "walk.pdf"
    return handle


def _unsafe_api_calls() -> set[tuple[str, str]]:
    found = set()
    for name, route, callback in resolved_routes():
        if not route.startswith("api/") or not hasattr(callback, "cls"):
            continue
        actions = getattr(callback, "actions", None)  # a viewset's {method: action}
        if actions:
            methods = set(actions)
        else:
            view = callback.cls
            methods = {m for m in getattr(callback, "initkwargs", {}).get("http_method_names", view.http_method_names)}
            methods = {m for m in methods if hasattr(view, m)}
        found |= {(name, method) for method in methods if method in UNSAFE}
    return found


CASES = [pytest.param(name, method, id=f"{name}:{method}") for name, method in CALLS]
OUTSIDER_CASES = [pytest.param(*key, id=f"{key[0]}:{key[1]}") for key, call in CALLS.items() if call.outsider]


@pytest.fixture
def world(owner, other_user, tmp_path, settings) -> Iterator[World]:
    root = (tmp_path / "media").resolve()
    media_root = root / str(owner.pk)  # the owner's own folder (publishing.folders)
    media_root.mkdir(parents=True)
    settings.PUBLISHING_LOCAL_ROOTS = [root]
    cache.clear()
    with network_doubles(settings) as (mastodon, _bluesky):
        world = build_world(owner, other_user, media_root)
        world.mastodon_url = mastodon.url
        yield world


def _key_client(user: User) -> APIClient:
    client = make_api_client(user, list(scopes.SCOPES))
    assert client.get("/api/v1/me").status_code == 200  # the key's first use writes last_used: before the snapshot
    return client


def _session_client(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _call(client: APIClient, name: str, method: str, w: World):
    call = CALLS[(name, method)]
    body = call.body(w)
    form = "multipart" if any(hasattr(value, "read") for value in body.values()) else "json"  # an upload
    return getattr(client, method)(reverse(name, kwargs=call.kwargs(w)), body, format=form)


def test_it_covers_every_unsafe_api_call():
    assert _unsafe_api_calls() == set(CALLS), "an unsafe API call is missing from CALLS, or gone"


@pytest.mark.parametrize("via", ["key", "session"])
@pytest.mark.parametrize(("name", "method"), CASES)
def test_a_viewer_is_refused_and_nothing_changes(world, name, method, via):
    world.owner.role = User.Role.VIEWER
    world.owner.save()
    viewer = _key_client(world.owner) if via == "key" else _session_client(world.owner)
    before = snapshot()
    response = _call(viewer, name, method, world)
    assert response.status_code == 403, response.content[:500]
    assert changes(before, snapshot()) == {}


@pytest.mark.parametrize(("name", "method"), OUTSIDER_CASES)
def test_an_outsider_is_refused_and_nothing_changes(world, name, method):
    outsider = _key_client(world.outsider)
    before = snapshot()
    response = _call(outsider, name, method, world)
    assert response.status_code == CALLS[(name, method)].outsider, response.content[:500]
    assert changes(before, snapshot()) == {}


@pytest.mark.parametrize(("name", "method"), CASES)
def test_the_owner_making_the_same_call_changes_something(world, name, method):
    owner = _session_client(world.owner) if CALLS[(name, method)].owner_by_session else _key_client(world.owner)
    before = snapshot()
    response = _call(owner, name, method, world)
    assert response.status_code in (200, 201, 202, 204), response.content[:500]
    data, events = data_and_events(before, snapshot())
    call = CALLS[(name, method)]
    assert (data != {}) is call.changes
    # The audit log's Must-hold (issue 17): one event per operation, none for a question.
    expected = call.changes if call.events is None else call.events
    assert len(events) == expected, f"{name} {method} wrote {events}"
