"""The composer per network in headless Chromium (issue 19): the page's Mastodon and Bluesky
counters (composer.js: Intl.Segmenter graphemes, links at the instance's URL weight, remote
mentions as @user) agree with the server's counting (``publishing.networks``) on every
sample, CJK, emoji and URLs among them; choosing networks shows their counters and previews;
the page passes axe-core with no horizontal scrolling at 390 px and 1280 px, in English and
Simplified Chinese, under the real CSP."""

from __future__ import annotations

import pytest

from accounts.models import User
from publishing import networks
from publishing.models import NetworkAccount, PublishingTask
from publishing.services import project_create
from tests.browser.conftest import BROWSER, PASSWORD, log_in
from tests.browser.test_composer import SAMPLES as X_SAMPLES
from tests.browser.test_every_page import _check, _watch_csp

pytestmark = BROWSER

SAMPLES = X_SAMPLES + [
    "@alice@mastodon.social says hi",
    "mail bob@example.com is no mention",
    "@bob and @carol@social.example.org and @dave@x.y",
    "=@notamention",
    "a/@notamention either",
    "https://example.com/" + "a" * 600,
    "文" * 299 + "字",
    "文" * 300 + "字",
    "🐈" * 300,
    "🐈" * 301,
    "👩🏽‍💻" * 150,
    "x" * 499 + " https://example.com",
    "x" * 476 + " https://example.com/more",
    "x" * 478 + " https://example.com/more",
    "Ünïcödé ñ and Ελληνικά and русский",
    "🇨🇳🇯🇵🇰🇷 flags in a row",
    "\u200d zero width joiner alone",
    "http://a.example https://b.example ftp://c.example",
    "www.example.com has no scheme",
    "\U0001f9d1\u200d\U0001f91d\u200d\U0001f9d1 people holding hands",
    "ก่ Thai with marks นี่คือ",
    "e" * 2999 + "é",
    "é" * 1600,
]


@pytest.mark.django_db(transaction=True)
def test_the_page_counters_and_the_server_agree_for_mastodon_and_bluesky(live_server, page):
    ada = User.objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    project = project_create(owner=ada, name="Counts")
    limits = {"max_characters": 500, "characters_reserved_per_url": 23}
    toot = NetworkAccount.objects.create(
        project=project,
        network="mastodon",
        instance_url="https://toot.example",
        handle="@ada@toot.example",
        limits=limits,
    )
    sky = NetworkAccount.objects.create(project=project, network="bluesky", handle="ada.bsky.social")
    log_in(page, live_server.url, "ada", "/publishing/compose/")
    page.wait_for_function("window.twitterText !== undefined")
    page.check(f"input[name=account][value='{toot.pk}']")
    page.check(f"input[name=account][value='{sky.pk}']")
    disagree = []
    for text in SAMPLES:
        page.evaluate(
            """(text) => { const area = document.getElementById('text_0'); area.value = text;
                area.dispatchEvent(new Event('input')); }""",
            text,
        )
        for account in (toot, sky):
            selector = f"#count-0-{account.pk}"
            shown = int(page.get_attribute(selector, "data-weighted"))
            valid = page.get_attribute(selector, "data-valid") == "1"
            counted = networks.measure(account.network, text, limits=account.limits)
            if (shown, valid) != (counted.length, counted.fits):
                disagree.append((account.network, text[:40], shown, valid, counted))
    assert disagree == []
    assert len(SAMPLES) >= 40


@pytest.mark.django_db(transaction=True)
def test_choosing_networks_shows_their_counters_and_previews_checked_at_both_widths_in_both_languages(
    live_server, page
):
    ada = User.objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    project = project_create(owner=ada, name="Cats")
    toot = NetworkAccount.objects.create(
        project=project, network="mastodon", instance_url="https://toot.example", handle="@ada@toot.example"
    )
    sky = NetworkAccount.objects.create(project=project, network="bluesky", handle="ada.bsky.social")
    other = project_create(owner=ada, name="Dogs")
    elsewhere = NetworkAccount.objects.create(project=other, network="bluesky", handle="dogs.bsky.social")
    base = live_server.url
    console = _watch_csp(page, base)
    log_in(page, base, "ada", "/publishing/compose/")
    page.select_option("#id_project", str(project.pk))
    assert page.is_hidden(f"#count-0-{sky.pk}") and page.is_visible("#count-0")
    assert page.is_hidden(f"input[name=account][value='{elsewhere.pk}']")  # another project's account
    assert page.is_hidden(".mastodon-options")
    page.check(f"input[name=account][value='{toot.pk}']")
    page.check(f"input[name=account][value='{sky.pk}']")
    assert page.is_visible(".mastodon-options")
    page.fill("#text_0", "猫" * 301)
    assert page.get_attribute("#count-0", "data-valid") == "0"  # X: 602 of 280
    assert page.get_attribute(f"#count-0-{toot.pk}", "data-valid") == "1"
    assert page.get_attribute(f"#count-0-{sky.pk}", "data-valid") == "0"
    sky_preview = page.locator(f"[data-preview-target='acc-{sky.pk}']")
    assert sky_preview.is_visible() and "301" in sky_preview.locator("[data-preview-count]").inner_text()
    page.uncheck("input[name=to_x]")
    assert page.is_hidden("#count-0") and page.is_hidden("[data-preview-target='x']")

    problems = []
    for language in ("zh-hans", "en"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
        page.goto(f"{base}/publishing/compose/")
        page.select_option("#id_project", str(project.pk))
        page.check(f"input[name=account][value='{toot.pk}']")
        page.check(f"input[name=account][value='{sky.pk}']")
        page.fill("#text_0", "Hello https://example.com 🐈")
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            problems += _check(page, f"composer-networks@{width}/{language}", console)
        page.goto(f"{base}/publishing/projects/{project.pk}/")
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            problems += _check(page, f"project-networks@{width}/{language}", console)
    assert problems == [], "\n".join(problems)

    page.goto(f"{base}/publishing/compose/")
    page.select_option("#id_project", str(project.pk))
    page.check(f"input[name=account][value='{sky.pk}']")
    page.uncheck("input[name=to_x]")
    page.fill("#text_0", "Only Bluesky 🐈")
    page.click("button[value=save]")
    page.wait_for_url("**/publishing/posts/*/")
    (task,) = PublishingTask.objects.all()
    assert task.account_id == sky.pk and task.content_data["text"] == "Only Bluesky 🐈"
