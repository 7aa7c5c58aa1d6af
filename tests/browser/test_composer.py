"""The composer in headless Chromium: its live counter (the vendored twitter-text) agrees
with the server's weighted length (``publishing.x_text``) on every sample; a thread with
images, alt text and a link is written, previewed and queued; the composer, the post's
page and the queue pass axe-core with no horizontal scrolling at 390 px and 1280 px, in
English and Simplified Chinese, under the real CSP."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from publishing import x_text
from publishing.models import PublishingTask
from publishing.services import project_create
from tests.browser.conftest import BROWSER, PASSWORD, log_in
from tests.browser.test_every_page import _check, _watch_csp
from tests.publishing.conftest import png_bytes

pytestmark = BROWSER

SAMPLES = [
    "",
    "Hello",
    "https://example.com",
    "See https://example.com/a/very/long/path?with=query&and=more#fragment now",
    "example.com and t.co without a scheme",
    "two links https://a.example and http://b.example/x",
    "故人西辞黄鹤楼，烟花三月下扬州。",
    "日本語のテキスト",
    "한국어 텍스트",
    "Mixed 中文 and English",
    "😀",
    "👨‍👩‍👧‍👦 a family",
    "🙋🏽 with a skin tone",
    "🏴󠁧󠁢󠁥󠁮󠁧󠁿 a flag",
    "1\u20e3 keycap",
    "A\u0301 combining acute",
    "A\u05e9\u05bc\u05c1 Hebrew marks",
    "e\u0301\u0301 doubled marks",
    "字" * 140,
    "字" * 141,
    "x" * 280,
    "x" * 281,
    "x" * 250 + " https://example.com/" + "a" * 100,
    "line one\nline two\n\nline four",
    "#hashtag @mention $CASH",
    "\u2066\u202ahttp://foobar.پاکستان/\u202c\u2069",
]


@pytest.fixture
def media_root(tmp_path, settings):
    root = (tmp_path / "media").resolve()
    root.mkdir()
    settings.PUBLISHING_LOCAL_ROOTS = [root]
    return root


@pytest.mark.django_db(transaction=True)
def test_the_page_counter_and_the_server_agree(live_server, page, media_root):
    ada = User.objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    project_create(owner=ada, name="Counts")
    log_in(page, live_server.url, "ada", "/publishing/compose/")
    page.wait_for_function("window.twitterText !== undefined")
    disagree = []
    for text in SAMPLES:
        page.evaluate(
            """(text) => { const area = document.getElementById('text_0'); area.value = text;
                area.dispatchEvent(new Event('input')); }""",
            text,
        )
        shown = int(page.get_attribute("#count-0", "data-weighted"))
        valid = page.get_attribute("#count-0", "data-valid") == "1"
        counted = x_text.measure(text)
        if (shown, valid) != (counted.weighted_length, counted.fits):
            disagree.append((text[:30], shown, valid, counted))
    assert disagree == []
    assert len(SAMPLES) >= 20


@pytest.mark.django_db(transaction=True)
def test_write_preview_and_queue_a_thread_checked_at_both_widths_in_both_languages(live_server, page, media_root):
    ada = User.objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    project_create(owner=ada, name="Cats")
    folder = media_root / str(ada.pk)
    folder.mkdir()
    for n in range(2):
        (folder / f"cat{n}.png").write_bytes(png_bytes(n))
    base = live_server.url
    console = _watch_csp(page, base)
    log_in(page, base, "ada", "/publishing/compose/")

    page.fill("#text_0", "Two cats https://example.com/cats")
    page.set_input_files("#files_0", [str(folder / "cat0.png"), str(folder / "cat1.png")])
    page.click("summary")
    page.fill("#newalt_0_0", "A grey cat")
    page.fill("#newalt_0_1", "A black cat")
    page.click("button[value=add_reply]")
    page.wait_for_selector("#text_1")
    page.fill("#text_1", "字" * 141)  # too long: the counter says so before the server does
    assert "over" in (page.get_attribute("#count-1", "class") or "")
    page.click("button[value=save]")
    page.wait_for_selector("#errors-1")
    assert "282" in page.inner_text("#errors-1")
    assert not PublishingTask.objects.exists()
    preview = page.locator(".composer-preview .x-post").first
    assert preview.locator("img[alt='A grey cat']").count() == 1
    assert preview.locator(".x-alt").count() == 2
    assert preview.locator("a[href='https://example.com/cats']").count() == 1

    problems = []
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        problems += _check(page, f"composer@{width}", console)
    page.fill("#text_1", "And the reply 😀")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/publishing/posts/\d+/$"))
    task = PublishingTask.objects.get()
    assert task.reply_count == 1
    assert [m["alt_text"] for m in task.content_data["media_items"]] == ["A grey cat", "A black cat"]
    assert page.locator(".x-post").count() == 2

    for path in (page.url, f"{base}/publishing/queue/", f"{base}/publishing/compose/"):
        for language in ("zh-hans", "en"):
            # The log-in set the language cookie, which wins over the account's setting.
            page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
            for width in (390, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(path)
                assert page.evaluate("document.documentElement.lang").lower() == language
                problems += _check(page, f"{path}@{width}/{language}", console)
    assert problems == [], "\n".join(problems)
