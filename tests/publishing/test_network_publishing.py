"""Issue 19's Must-hold: the real Mastodon.py and atproto against local doubles of a Mastodon
instance and a Bluesky PDS (netdoubles), with X's double beside them; one post to several
networks is one task per network, and one network failing never re-posts on another."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from publishing import accounts, composer
from publishing.models import NetworkAccount, Project, PublishingLog, PublishingTask
from publishing.runner import publish_due
from tests.clock import NOW

from .conftest import png_bytes
from .netdoubles import BlueskyDouble, MastodonDouble
from .xdouble import XDouble

Status = PublishingTask.Status
ErrorKind = PublishingLog.ErrorKind


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def doubles(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the doubles listen on 127.0.0.1
    with XDouble() as x, MastodonDouble() as mastodon, BlueskyDouble() as bluesky:
        settings.PUBLISHING_X_BASE_URL = x.url
        settings.PUBLISHING_BLUESKY_PDS_URL = bluesky.url
        yield x, mastodon, bluesky


@pytest.fixture
def connected(x_project, doubles):
    _x, mastodon, _bluesky = doubles
    toot = accounts.account_connect_mastodon(
        project=x_project, instance_url=mastodon.url, access_token="mastodon-token-1"
    )
    sky = accounts.account_connect_bluesky(project=x_project, handle="alice.bsky.social", app_password="app-pass-1234")
    return toot, sky


def _due(*tasks):
    PublishingTask.objects.filter(pk__in=[t.pk for t in tasks]).update(
        scheduled_at=timezone.now() - timedelta(seconds=1)
    )


def _post(project, accounts_, text, **kwargs):
    head = composer.post_create(project=project, posts=[composer.PostIn(text=text)], accounts=list(accounts_), **kwargs)
    tasks = [head, *head.copies]
    _due(*tasks)
    return tasks


def test_it_connects_each_account_with_its_own_limits_and_session(connected, doubles):
    toot, sky = connected
    _x, mastodon, bluesky = doubles
    assert toot.handle.startswith("@alice@127.0.0.1") and toot.limits["max_characters"] == 500
    assert sky.remote_id == bluesky.dids["alice.bsky.social"] and sky.session
    with connection.cursor() as cursor:
        cursor.execute("SELECT app_password, session FROM publishing_networkaccount WHERE id = %s", [sky.pk])
        raw = cursor.fetchone()
    assert "app-pass-1234" not in raw[0] and sky.session not in raw[1]  # encrypted at rest
    assert NetworkAccount.objects.get(pk=sky.pk).app_password == "app-pass-1234"
    assert mastodon.calls("/api/v2/instance")


def test_it_posts_to_x_mastodon_and_bluesky_and_waits_out_a_bluesky_rate_limit(connected, doubles, time_machine):
    x, mastodon, bluesky = doubles
    toot, sky = connected
    reset = NOW + timedelta(minutes=7)
    bluesky.rate_limit_until = reset.timestamp()
    x_task, toot_task, sky_task = _post(
        Project.objects.get(pk=toot.project_id), [toot, sky], "One post, three networks"
    )
    assert (x_task.account_id, toot_task.account_id, sky_task.account_id) == (None, toot.pk, sky.pk)

    publish_due(run_seconds=10)

    for task in (x_task, toot_task, sky_task):
        task.refresh_from_db()
    assert (x_task.status, toot_task.status) == (Status.SUCCESS, Status.SUCCESS)
    assert sky_task.status == Status.PENDING and sky_task.scheduled_at == reset  # waits for the reset
    assert sky_task.retry_count == 0  # a rate limit is not a failed attempt
    assert PublishingLog.objects.get(task=sky_task).error_kind == ErrorKind.RATE_LIMIT

    publish_due(run_seconds=5)  # before the reset: nothing is attempted again
    assert bluesky.rate_limited == 1

    time_machine.move_to(reset + timedelta(seconds=1), tick=False)
    publish_due(run_seconds=10)

    sky_task.refresh_from_db()
    assert sky_task.status == Status.SUCCESS
    assert [c.text for c in x.creations] == ["One post, three networks"]
    assert [c.text for c in mastodon.creations] == ["One post, three networks"]
    assert [c.text for c in bluesky.creations] == ["One post, three networks"]
    assert sky_task.posted_id.startswith(f"at://{sky.remote_id}/app.bsky.feed.post/")
    assert [log.status for log in PublishingLog.objects.filter(task=sky_task).order_by("id")] == ["failed", "success"]
    for task in (x_task, toot_task):
        assert PublishingLog.objects.filter(task=task).count() == 1


def test_it_sends_the_request_shapes_each_network_expects(connected, doubles, media_root):
    _x, mastodon, bluesky = doubles
    toot, sky = connected
    image = media_root / "cat.png"
    image.write_bytes(png_bytes(3))
    project = Project.objects.get(pk=toot.project_id)
    first = "A cat #caturday with @bob.test at https://example.com/cats"
    head = composer.post_create(
        project=project,
        posts=[
            composer.PostIn(text=first, media=[{"path": str(image), "alt_text": "A grey cat asleep"}]),
            composer.PostIn(text="And a reply"),
        ],
        accounts=[toot, sky],
        to_x=False,
        spoiler_text="cats",
        visibility="unlisted",
    )
    toot_task, sky_task = head, head.copies[0]
    _due(toot_task, sky_task)

    publish_due(run_seconds=10)

    for task in (toot_task, sky_task):
        task.refresh_from_db()
        assert task.status == Status.SUCCESS, task.last_error
    # Mastodon: the media with its description, then two statuses, the reply answering the first.
    (upload,) = mastodon.calls("/api/v2/media")
    assert b'name="description"' in upload["body"] and b"A grey cat asleep" in upload["body"]
    assert png_bytes(3) in upload["body"]
    statuses = mastodon.calls("/api/v1/statuses")
    assert [s["headers"]["Idempotency-Key"] for s in statuses] == [
        f"cradle-task-{toot_task.pk}-0",
        f"cradle-task-{toot_task.pk}-1",
    ]
    one, two = mastodon.creations
    assert one.alt_texts == ("A grey cat asleep",) and one.media_hashes == (hashlib.sha256(png_bytes(3)).hexdigest(),)
    assert one.extra == {"visibility": "unlisted", "spoiler_text": "cats", "sensitive": True}
    assert two.in_reply_to == one.post_id and not one.in_reply_to
    form = parse_qs(statuses[1]["body"].decode())
    assert form["in_reply_to_id"] == [one.post_id]
    # Bluesky: the blob, then two records; facets for the tag, the mention and the link.
    assert len(bluesky.calls("/xrpc/com.atproto.repo.uploadBlob")) == 1
    records = [json.loads(r["body"]) for r in bluesky.calls("/xrpc/com.atproto.repo.createRecord")]
    assert [r["collection"] for r in records] == ["app.bsky.feed.post"] * 2
    post = records[0]["record"]
    assert post["$type"] == "app.bsky.feed.post" and post["text"] == first
    assert post["embed"]["$type"] == "app.bsky.embed.images"
    assert post["embed"]["images"][0]["alt"] == "A grey cat asleep"
    features = {f["features"][0]["$type"]: f for f in post["facets"]}
    encoded = first.encode()
    tag = features["app.bsky.richtext.facet#tag"]
    assert tag["features"][0]["tag"] == "caturday"
    assert encoded[tag["index"]["byteStart"] : tag["index"]["byteEnd"]] == b"#caturday"
    mention = features["app.bsky.richtext.facet#mention"]
    assert mention["features"][0]["did"].startswith("did:plc:")
    link = features["app.bsky.richtext.facet#link"]
    assert link["features"][0]["uri"] == "https://example.com/cats"
    reply = records[1]["record"]["reply"]
    head_uri, head_cid = sky_task.posted_id.split(" ")
    ref = {"$type": "com.atproto.repo.strongRef", "uri": head_uri, "cid": head_cid}
    assert reply["root"] == ref == reply["parent"]
    assert records[0]["rkey"] != records[1]["rkey"]
    assert "embed" not in records[1]["record"] or records[1]["record"]["embed"] is None


def test_a_retry_after_a_lost_answer_never_posts_twice(connected, doubles):
    _x, mastodon, bluesky = doubles
    toot, sky = connected
    project = Project.objects.get(pk=toot.project_id)
    toot_task, sky_task = _post(project, [toot, sky], "Posted, but the answer was lost", to_x=False)
    publish_due(run_seconds=10)
    # As if the worker died after the networks had the posts: back to pending, maybe posted, no ids.
    PublishingTask.objects.filter(pk__in=[toot_task.pk, sky_task.pk]).update(
        status=Status.PENDING, maybe_posted=True, posted_id="", scheduled_at=timezone.now() - timedelta(seconds=1)
    )

    publish_due(run_seconds=10)

    assert len(mastodon.creations) == 1 and mastodon.replayed == 1  # the Idempotency-Key answered
    assert len(bluesky.creations) == 1  # the record under the task's key was found, not written again
    for task in (toot_task, sky_task):
        task.refresh_from_db()
        assert task.status == Status.SUCCESS and task.posted_id


def test_a_revoked_token_asks_that_account_only_to_reconnect(connected, doubles):
    x, mastodon, bluesky = doubles
    toot, sky = connected
    mastodon.tokens.clear()  # the owner revoked the app on the instance
    x_task, toot_task, sky_task = _post(Project.objects.get(pk=toot.project_id), [toot, sky], "Revoked on Mastodon")

    publish_due(run_seconds=10)

    toot.refresh_from_db()
    project = Project.objects.get(pk=toot.project_id)
    assert toot.needs_reconnect and not project.needs_credentials
    assert PublishingTask.objects.get(pk=toot_task.pk).status == Status.PENDING
    assert PublishingTask.objects.get(pk=x_task.pk).status == Status.SUCCESS
    assert PublishingTask.objects.get(pk=sky_task.pk).status == Status.SUCCESS
    assert len(x.creations) == len(bluesky.creations) == 1 and not mastodon.creations
    assert project.alerts.filter(key=f"account:{toot.pk}", open_marker=True).exists()


def test_a_post_too_long_for_one_chosen_network_is_refused(connected):
    toot, sky = connected
    project = Project.objects.get(pk=toot.project_id)
    with pytest.raises(ValidationError, match="Too long for Bluesky: it counts 301 of 300"):
        composer.post_create(project=project, posts=[composer.PostIn(text="a" * 301)], accounts=[toot, sky], to_x=False)
    composer.post_create(project=project, posts=[composer.PostIn(text="a" * 301)], accounts=[toot], to_x=False)
    assert PublishingTask.objects.get().account_id == toot.pk  # 301 fits Mastodon's 500
    PublishingTask.objects.all().delete()
    assert not PublishingTask.objects.exists()


def test_connecting_posting_and_disconnecting_write_one_audit_event_each(connected, doubles):
    from cradle_site.audit_vocabulary import EventType
    from ops.audit_models import AuditEvent

    toot, sky = connected
    assert list(AuditEvent.objects.order_by("-id").values_list("event_type", flat=True)[:2]) == [
        EventType.NETWORK_ACCOUNT_CONNECTED,
        EventType.NETWORK_ACCOUNT_CONNECTED,
    ]
    before = AuditEvent.objects.count()
    _post(Project.objects.get(pk=toot.project_id), [toot, sky], "Three tasks, one event")
    event = AuditEvent.objects.latest("id")
    assert AuditEvent.objects.count() == before + 1 and event.extra_data["networks"] == ["x", "mastodon", "bluesky"]
    accounts.account_disconnect(account=sky)
    event = AuditEvent.objects.latest("id")
    assert event.event_type == EventType.NETWORK_ACCOUNT_DISCONNECTED and AuditEvent.objects.count() == before + 2
    raw = str(list(AuditEvent.objects.values_list("extra_data", "object_label")))
    assert "app-pass-1234" not in raw and "mastodon-token-1" not in raw


def test_bad_connect_input_is_a_field_error(x_project, doubles):
    _x, mastodon, _bluesky = doubles
    cases = [
        (
            lambda: accounts.account_connect_mastodon(project=x_project, instance_url="ftp://x", access_token="t"),
            "instance_url",
        ),
        (
            lambda: accounts.account_connect_mastodon(
                project=x_project, instance_url=mastodon.url, access_token="wrong"
            ),
            "access_token",
        ),
        (
            lambda: accounts.account_connect_bluesky(project=x_project, handle="not a handle", app_password="p"),
            "handle",
        ),
        (
            lambda: accounts.account_connect_bluesky(project=x_project, handle="alice.bsky.social", app_password="bad"),
            "app_password",
        ),
    ]
    for connect, field in cases:
        with pytest.raises(ValidationError) as refused:
            connect()
        assert field in refused.value.message_dict
    assert not NetworkAccount.objects.exists()
