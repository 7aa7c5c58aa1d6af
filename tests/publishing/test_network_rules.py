"""Each network's length rule (publishing.networks) against that network's own counting.

Bluesky counts extended grapheme clusters (the app's ``Intl.Segmenter``); the oracle is the
expected count written by hand and, where it is exact, atproto's own ``_grapheme_len``
(atproto documents it as an approximation of UAX #29, so every sample here is one it gets
right). Mastodon counts graphemes with every ``http(s)://`` URL as 23 and a remote mention
as its local part (the server's ``StatusLengthValidator``); the expected counts are that
rule worked out by hand. X is ``x_text`` (twitter-text's conformance suite, test_x_length).
"""

from __future__ import annotations

import pytest
from atproto_client.utils.facet_detection import _grapheme_len

from publishing import networks
from publishing.models import Network, PublishingLog

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"

BLUESKY = [
    ("latin", "hello", 5),
    ("chinese", "你好，世界", 5),
    ("japanese", "こんにちは", 5),
    ("korean syllables", "안녕하세요", 5),
    ("emoji", "👍", 1),
    ("emoji with skin tone", "👍🏽", 1),
    ("family zwj sequence", FAMILY, 1),
    ("two flags", "🇯🇵🇫🇷", 2),
    ("combining accent", "e\u0301", 1),
    ("keycap", "1\u20e3", 1),
    ("tag sequence flag", SCOTLAND, 1),
    ("rainbow flag", RAINBOW, 1),
    ("a url counts as written", "https://example.com/a/very/long/path?x=1", 40),
    ("mention, hashtag and emoji", "#猫 @alice.bsky.social 🐱", 23),
    ("mixed", "Bluesky 你好 👨‍👩‍👧‍👦!", 13),
]

MASTODON = [
    ("latin", "hello world", 11, ""),
    ("a long url counts 23", "https://example.com/" + "a" * 100, 23, ""),
    ("two urls", "see https://example.com/x and http://a.org", 55, ""),
    ("no scheme is no link", "example.com", 11, ""),
    ("chinese and a url", "你好 https://example.com", 26, ""),
    ("remote mention counts its local part", "@alice@mastodon.social hi", 9, ""),
    ("local mention", "@bob hi", 7, ""),
    ("an address is not a mention", "mail alice@example.com", 22, ""),
    ("family emoji is one", FAMILY + " family", 8, ""),
    ("flag", "🇯🇵", 1, ""),
    ("japanese", "日本語のテキスト", 8, ""),
    ("combining accent", "e\u0301", 1, ""),
    ("the content warning counts", "hello", 7, "CW"),
    ("emoji with skin tone", "👍🏽 ok", 4, ""),
]


@pytest.mark.parametrize(("name", "text", "expected"), BLUESKY, ids=[c[0] for c in BLUESKY])
def test_it_counts_bluesky_graphemes(name, text, expected):
    assert networks.measure(Network.BLUESKY, text).length == expected
    assert _grapheme_len(text) == expected  # atproto's own count agrees


@pytest.mark.parametrize(("name", "text", "expected", "spoiler"), MASTODON, ids=[c[0] for c in MASTODON])
def test_it_counts_like_the_mastodon_server(name, text, expected, spoiler):
    assert networks.measure(Network.MASTODON, text, spoiler_text=spoiler).length == expected


def test_it_counts_enough_samples():
    assert len(BLUESKY) + len(MASTODON) >= 20


@pytest.mark.parametrize(
    ("text", "length"), [("你好", 4), ("👍", 2), ("https://example.com/" + "a" * 90, 23), ("hello", 5)]
)
def test_it_counts_x_weighted(text, length):
    assert networks.measure(Network.X, text).length == length


def test_it_applies_each_limit():
    assert networks.measure(Network.BLUESKY, "a" * 300).fits
    assert not networks.measure(Network.BLUESKY, "a" * 301).fits
    assert networks.measure(Network.BLUESKY, "🐱" * 300).fits
    assert networks.measure(Network.MASTODON, "x" * 500).fits
    assert not networks.measure(Network.MASTODON, "x" * 501).fits
    assert not networks.measure(Network.MASTODON, "https://a.com " * 21).fits  # 21 x 24 = 504
    assert networks.measure(Network.MASTODON, "x" * 4000, limits={"max_characters": 5000}).fits
    assert (
        networks.measure(
            Network.MASTODON, "https://a.com/" + "b" * 90, limits={"characters_reserved_per_url": 30}
        ).length
        == 30
    )
    assert not networks.measure(Network.X, "x" * 281).fits


def test_it_explains_a_refusal_per_network():
    assert networks.too_long_reason(Network.BLUESKY, "ok") == ""
    assert "301 of 300" in networks.too_long_reason(Network.BLUESKY, "a" * 301)
    assert "Mastodon" in networks.too_long_reason(Network.MASTODON, "a" * 501)
    assert "X" in networks.too_long_reason(Network.X, "a" * 281)


def test_it_keeps_media_and_thread_rules_per_network():
    for network in Network.values:
        rules = networks.RULES[network]
        assert rules.max_media == 4 and rules.threads
    assert networks.RULES[Network.MASTODON].media_limit({"max_media_attachments": 8}) == 8
    assert not networks.RULES[Network.BLUESKY].video


ErrorKind = PublishingLog.ErrorKind


class _Response:
    def __init__(self, status, headers=None, content=None):
        self.status_code, self.headers, self.content = status, headers or {}, content


def test_it_classifies_mastodon_errors_into_the_x_vocabulary(time_machine):
    from mastodon import errors

    time_machine.move_to("2026-01-01T00:00:00Z", tick=False)
    limited = networks.classify(
        Network.MASTODON, errors.MastodonRatelimitError("Hit rate limit."), stage="post", reset_epoch=1767226000
    )
    assert limited.kind == ErrorKind.RATE_LIMIT and limited.retry_at.timestamp() == 1767226000
    api = errors.MastodonAPIError
    cases = [
        (
            errors.MastodonUnauthorizedError("x", 401, "Unauthorized", "The access token was revoked"),
            "post",
            ErrorKind.AUTH,
        ),
        (errors.MastodonServiceUnavailableError("x", 503, "", ""), "post", ErrorKind.SERVER),
        (api("x", 422, "Unprocessable", "File type not supported"), "upload", ErrorKind.MEDIA),
        (api("x", 422, "Unprocessable", "Validation failed: Text can't be blank"), "post", ErrorKind.OTHER),
        (errors.MastodonNetworkError("Could not complete request: Connection refused"), "post", ErrorKind.NETWORK),
    ]
    for exc, stage, kind in cases:
        assert networks.classify(Network.MASTODON, exc, stage=stage).kind == kind
    timed_out = networks.classify(Network.MASTODON, errors.MastodonNetworkError("Read timed out."), stage="post")
    assert timed_out.kind == ErrorKind.NETWORK and timed_out.maybe_posted


def test_it_classifies_bluesky_errors_into_the_x_vocabulary(time_machine):
    from atproto_client import exceptions as at

    time_machine.move_to("2026-01-01T00:00:00Z", tick=False)
    limited = networks.classify(
        Network.BLUESKY, at.RateLimitExceededError(_Response(429, {"ratelimit-reset": "1767226000"})), stage="post"
    )
    assert limited.kind == ErrorKind.RATE_LIMIT and limited.retry_at.timestamp() == 1767226000
    fallback = networks.classify(Network.BLUESKY, at.RateLimitExceededError(_Response(429)), stage="post")
    assert fallback.retry_at > limited.retry_at.replace(year=2025)
    assert networks.classify(Network.BLUESKY, at.UnauthorizedError(_Response(401)), stage="post").kind == ErrorKind.AUTH
    assert networks.classify(Network.BLUESKY, at.NetworkError(_Response(502)), stage="post").kind == ErrorKind.SERVER
    assert networks.classify(Network.BLUESKY, at.NetworkError(_Response(413)), stage="upload").kind == ErrorKind.MEDIA
    assert (
        networks.classify(Network.BLUESKY, at.BadRequestError(_Response(400)), stage="upload").kind == ErrorKind.MEDIA
    )
    assert (
        networks.classify(Network.BLUESKY, at.RequestException(_Response(500)), stage="post").kind == ErrorKind.SERVER
    )
    timeout = networks.classify(Network.BLUESKY, at.InvokeTimeoutError(), stage="post")
    assert timeout.kind == ErrorKind.NETWORK and timeout.maybe_posted
