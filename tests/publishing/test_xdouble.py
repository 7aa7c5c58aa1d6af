"""The X double behaves like X where our safety depends on X, driven by the real tweepy client:
it refuses the same text from the same account, never a post without text, and records
every post it creates."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import requests
import tweepy

from publishing.models import PublishingLog
from publishing.publishers import TweepyPublisher, classify
from publishing.services import project_create, project_set_credentials
from tests.clock import NOW

from .conftest import SECRETS, png_bytes
from .xdouble import DUPLICATE_BODY, XDouble


@pytest.fixture
def double(settings):
    with XDouble() as double:
        settings.PUBLISHING_X_BASE_URL = double.url
        yield double


def _client(project) -> tweepy.Client:
    return TweepyPublisher(project).client


def test_it_refuses_the_same_text_from_the_same_account_as_x_does(x_project, double):
    client = _client(x_project)
    client.create_tweet(text="Hello", user_auth=True)
    with pytest.raises(tweepy.Forbidden) as refused:
        client.create_tweet(text="Hello", user_auth=True)
    assert refused.value.response.json() == DUPLICATE_BODY
    assert classify(refused.value, stage="post").kind == PublishingLog.ErrorKind.DUPLICATE
    assert [c.text for c in double.creations] == ["Hello"] and double.refused == 1


def test_another_account_may_post_the_same_text(x_project, owner, double):
    other = project_set_credentials(
        project=project_create(owner=owner, name="Second account"), **{**SECRETS, "x_access_token": "at-other-9999"}
    )
    _client(x_project).create_tweet(text="Hello", user_auth=True)
    _client(other).create_tweet(text="Hello", user_auth=True)
    assert [c.account for c in double.creations] == [SECRETS["x_access_token"], "at-other-9999"]


def test_the_same_text_is_accepted_again_after_the_window(x_project, settings, time_machine):
    time_machine.move_to(NOW, tick=False)
    with XDouble(duplicate_window=timedelta(hours=1)) as double:
        settings.PUBLISHING_X_BASE_URL = double.url
        client = _client(x_project)
        client.create_tweet(text="Hello", user_auth=True)
        time_machine.move_to(NOW + timedelta(hours=1, seconds=1), tick=False)
        client.create_tweet(text="Hello", user_auth=True)
        assert double.total == 2


def test_a_post_without_text_is_never_refused_and_its_media_is_traced(x_project, double):
    # X has no text to compare, and every upload gets a fresh media id: the picture goes out twice.
    publisher = TweepyPublisher(x_project)
    for _ in range(2):
        media = publisher.api.simple_upload("cat.png", file=io.BytesIO(png_bytes(5)))
        publisher.client.create_tweet(media_ids=[media.media_id_string], user_auth=True)
    first, second = double.creations
    assert first.text == second.text == "" and first.media_ids != second.media_ids
    assert first.media_hashes == second.media_hashes and first.media_hashes[0]


def test_it_serves_its_creations_to_other_processes(x_project, double):
    _client(x_project).create_tweet(text="Hello", user_auth=True)
    rows = requests.get(f"{double.url}/_double/creations", timeout=5).json()["creations"]
    assert [(row["text"], row["account"]) for row in rows] == [("Hello", SECRETS["x_access_token"])]
