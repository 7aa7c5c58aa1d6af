"""Issue 19's Must-hold: 4 processes publish 1,000 posts to three networks with 0 doubles.

The 1,000 posts are spread over X, a Mastodon account and a Bluesky account of one project
(334 / 333 / 333 tasks, each network's copy its own task as the composer's fan-out makes
them; 3,000 live posts took four minutes on this loaded 2-core machine). Four worker processes run the real publish job
with the real client libraries (tweepy, Mastodon.py, atproto) against the local doubles
(``xdouble``, ``netdoubles``), which count every post they created per text: each text must
be created exactly once on each network. A duplicate refusal would hide a second post; the
count does not (and no double refused anything).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from publishing import accounts
from publishing.factories import tasks_bulk_create
from publishing.models import PublishingLog, PublishingTask
from tests.conftest import run_python

from .netdoubles import BlueskyDouble, MastodonDouble
from .xdouble import XDouble

pytestmark = [pytest.mark.mariadb_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POSTS = 1000
SHARES = {"x": 334, "mastodon": 333, "bluesky": 333}
WORKER = """
from publishing.runner import publish_due
stats = publish_due(run_seconds=170)
print(stats.published, stats.claimed, stats.failed, stats.retried)
"""


def test_four_workers_post_every_copy_exactly_once_on_each_network(x_project, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the doubles listen on 127.0.0.1
    with XDouble() as x, MastodonDouble() as mastodon, BlueskyDouble() as bluesky:
        settings.PUBLISHING_X_BASE_URL = x.url
        settings.PUBLISHING_BLUESKY_PDS_URL = bluesky.url
        toot = accounts.account_connect_mastodon(
            project=x_project, instance_url=mastodon.url, access_token="mastodon-token-1"
        )
        sky = accounts.account_connect_bluesky(
            project=x_project, handle="alice.bsky.social", app_password="app-pass-1234"
        )
        past = timezone.now() - timedelta(minutes=5)
        # A label per network (a project's media paths are unique): "fan-x post 7", "fan-mastodon post 7".
        for label, account in (("x", None), ("mastodon", toot), ("bluesky", sky)):
            tasks_bulk_create(
                project=x_project,
                count=SHARES[label],
                scheduled_at=past,
                label=f"fan-{label}",
                priority_levels=3,
                account=account,
            )

        def texts(account) -> dict:
            found = PublishingTask.objects.filter(account=account).values_list("content_data__text", flat=True)
            assert len(set(found)) == SHARES[account.network]
            return dict.fromkeys(found, 1)

        started = time.monotonic()
        env = {
            "PUBLISHING_X_BASE_URL": x.url,
            "PUBLISHING_BLUESKY_PDS_URL": bluesky.url,
            "OUTBOUND_ALLOW_PRIVATE": "1",
            "PUBLISHING_LIVE_BATCH_SIZE": "25",
        }
        workers = [run_python(WORKER, **env) for _ in range(4)]
        outputs = [worker.communicate(timeout=240) for worker in workers]
        elapsed = time.monotonic() - started
        for worker, (_out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err[-2000:]
        published = [int(out.split()[0]) for out, _ in outputs]
        print(f"{POSTS} tasks by 4 workers in {elapsed:.1f} s; per worker {published}")

        assert x.creations_per_task(PublishingTask.objects.filter(account__isnull=True)) == dict.fromkeys(
            PublishingTask.objects.filter(account__isnull=True).values_list("pk", flat=True), 1
        )
        assert dict(mastodon.creations_per_text()) == texts(toot)
        assert dict(bluesky.creations_per_text()) == texts(sky)
        assert x.refused == 0 and mastodon.rate_limited == 0 and bluesky.rate_limited == 0

    assert sum(published) == POSTS
    assert sum(1 for p in published if p) >= 2  # the work really was shared
    assert PublishingTask.objects.filter(status=PublishingTask.Status.SUCCESS).count() == POSTS
    logs = PublishingLog.objects.filter(status=PublishingLog.Status.SUCCESS)
    assert logs.count() == POSTS
    for account in (toot, sky):
        assert logs.filter(task__account=account).count() == SHARES[account.network]
