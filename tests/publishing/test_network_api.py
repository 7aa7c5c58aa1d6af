"""The API of connected accounts and of composing for several networks (issue 19), against
the Mastodon and Bluesky doubles with the real client libraries. By persona: the owner,
an outsider (404), a key without the write scope (403)."""

from __future__ import annotations

import pytest

from publishing.models import NetworkAccount, PublishingTask

from .netdoubles import BlueskyDouble, MastodonDouble

pytestmark = pytest.mark.django_db
ALL = ["publishing:read", "publishing:write", "tasks:create"]


@pytest.fixture
def doubles(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with MastodonDouble() as mastodon, BlueskyDouble() as bluesky:
        settings.PUBLISHING_BLUESKY_PDS_URL = bluesky.url
        yield mastodon, bluesky


def _connect_both(api, project, mastodon):
    base = f"/api/v1/publishing/projects/{project.pk}/accounts"
    toot = api.post(
        base + "/mastodon", {"instance_url": mastodon.url, "access_token": "mastodon-token-1"}, format="json"
    )
    sky = api.post(base + "/bluesky", {"handle": "alice.bsky.social", "app_password": "app-pass-1234"}, format="json")
    assert toot.status_code == 201 and sky.status_code == 201, (toot.content, sky.content)
    return toot.json(), sky.json()


def test_it_connects_lists_and_disconnects_accounts(owner, project, doubles, api_client_for):
    mastodon, _bluesky = doubles
    api = api_client_for(owner, ALL)
    toot, sky = _connect_both(api, project, mastodon)
    assert toot["network"] == "mastodon" and toot["limits"]["max_characters"] == 500
    assert sky["network"] == "bluesky" and sky["remote_id"].startswith("did:plc:")
    listed = api.get(f"/api/v1/publishing/projects/{project.pk}/accounts")
    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 2 and [a["id"] for a in body["results"]] == [toot["id"], sky["id"]]
    text = listed.content.decode()
    assert "mastodon-token-1" not in text and "app-pass-1234" not in text and "session" not in text
    assert api.delete(f"/api/v1/publishing/accounts/{sky['id']}").status_code == 204
    assert list(NetworkAccount.objects.values_list("pk", flat=True)) == [toot["id"]]


def test_bad_credentials_are_a_400_naming_the_field(owner, project, doubles, api_client_for):
    mastodon, _bluesky = doubles
    api = api_client_for(owner, ALL)
    base = f"/api/v1/publishing/projects/{project.pk}/accounts"
    cases = [
        ("/mastodon", {"instance_url": mastodon.url, "access_token": "wrong"}, "access_token"),
        ("/mastodon", {"instance_url": "ftp://x", "access_token": "t"}, "instance_url"),
        ("/mastodon", {"access_token": "t"}, "instance_url"),
        ("/bluesky", {"handle": "alice.bsky.social", "app_password": "nope"}, "app_password"),
        ("/bluesky", {"handle": "no handle", "app_password": "x"}, "handle"),
        ("/bluesky", {"handle": "alice.bsky.social"}, "app_password"),
    ]
    for path, body, field in cases:
        response = api.post(base + path, body, format="json")
        assert response.status_code == 400, (path, body, response.content)
        assert field in response.content.decode(), (path, body, response.content)
    assert not NetworkAccount.objects.exists()


def test_an_outsider_gets_404_and_a_read_key_403(owner, other_user, project, doubles, api_client_for):
    mastodon, _bluesky = doubles
    toot, _sky = _connect_both(api_client_for(owner, ALL), project, mastodon)
    outsider = api_client_for(other_user, ALL)
    base = f"/api/v1/publishing/projects/{project.pk}/accounts"
    assert outsider.get(base).status_code == 404
    assert (
        outsider.post(base + "/bluesky", {"handle": "alice.bsky.social", "app_password": "app-pass-1234"}).status_code
        == 404
    )
    assert outsider.get(f"/api/v1/publishing/accounts/{toot['id']}").status_code == 404
    assert outsider.delete(f"/api/v1/publishing/accounts/{toot['id']}").status_code == 404
    reader = api_client_for(owner, ["publishing:read"])
    assert reader.get(base).status_code == 200
    assert reader.delete(f"/api/v1/publishing/accounts/{toot['id']}").status_code == 403
    assert NetworkAccount.objects.count() == 2


def test_compose_takes_the_accounts_and_answers_one_post_per_network(owner, project, doubles, api_client_for):
    mastodon, _bluesky = doubles
    api = api_client_for(owner, ALL)
    toot, sky = _connect_both(api, project, mastodon)
    body = {
        "project": project.pk,
        "posts": [{"text": "猫 https://example.com/a/very/long/path/indeed 🐈"}],
        "accounts": [toot["id"], sky["id"]],
        "spoiler_text": "cats",
        "visibility": "unlisted",
    }
    response = api.post("/api/v1/publishing/posts", body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["network"] == "x" and answer["account"] is None
    assert [(c["network"], c["account"]) for c in answer["copies"]] == [
        ("mastodon", toot["id"]),
        ("bluesky", sky["id"]),
    ]
    assert [c["posts"][0]["length"] for c in answer["copies"]] == [
        1 + 1 + 23 + 1 + 1,
        4 + len("https://example.com/a/very/long/path/indeed"),
    ]
    toot_task = PublishingTask.objects.get(account_id=toot["id"])
    assert toot_task.content_data["spoiler_text"] == "cats" and toot_task.content_data["visibility"] == "unlisted"
    assert "spoiler_text" not in PublishingTask.objects.get(account_id=sky["id"]).content_data

    alone = api.post("/api/v1/publishing/posts", {**body, "accounts": [sky["id"]], "to_x": False}, format="json").json()
    assert alone["network"] == "bluesky" and alone["copies"] == []


def test_compose_refuses_other_accounts_and_text_too_long_for_one_network(
    owner, other_user, project, doubles, api_client_for
):
    mastodon, _bluesky = doubles
    api = api_client_for(owner, ALL)
    _toot, sky = _connect_both(api, project, mastodon)
    from publishing.services import project_create

    theirs = project_create(owner=other_user, name="Theirs", slot_interval_minutes=30, daily_cap=10)
    foreign = NetworkAccount.objects.create(project=theirs, network="bluesky", handle="eve.bsky.social")
    before = PublishingTask.objects.count()
    for ids in ([foreign.pk], [999_999], [sky["id"], foreign.pk]):
        response = api.post(
            "/api/v1/publishing/posts",
            {"project": project.pk, "posts": [{"text": "hi"}], "accounts": ids},
            format="json",
        )
        assert response.status_code == 400 and "accounts" in response.content.decode(), response.content
    long = "a" * 301  # fits Mastodon (500), not Bluesky (300)
    response = api.post(
        "/api/v1/publishing/posts",
        {"project": project.pk, "posts": [{"text": long}], "accounts": [sky["id"]], "to_x": False},
        format="json",
    )
    assert response.status_code == 400 and "Bluesky" in response.content.decode()
    assert "posts[0].text" in response.content.decode()
    assert PublishingTask.objects.count() == before
