"""X's weighted length (publishing.x_text) against twitter-text's own conformance cases.

The cases are from twitter-text's ``conformance/validate.yml`` (v3,
``WeightedTweetsWithDiscountedEmojiCounterTest`` and ``UnicodeDirectionalMarkerCounterTest``;
Apache-2.0, https://github.com/twitter/twitter-text), the description kept as the case id.
They cover what the composer's counter must get right: every URL counts 23 whatever its
length, CJK and emoji count 2, combining marks are counted after NFC normalisation.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from publishing import x_text

POEM = (
    "故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。朱雀桥边野草花，乌衣巷口夕阳斜。"
    "旧时王谢堂前燕，飞入寻常百姓家。朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
    "泪湿罗巾梦不成，夜深前殿按歌声。红颜未老恩先断，斜倚薰笼坐到明。独在异乡为异客，每逢佳节倍思亲。"
    "遥知兄弟登高处，遍插茱萸少一人。"
)
X10 = "xxxxxxxxxx-"
CONFORMANCE = [
    ("160 CJK char, overflow at char index 140", POEM, 320, False),
    ("3 latin char + 160 CJK char, overflow at char index 141", "the" + POEM, 323, False),
    ("Long tweet, overflow at char index 280", "285 chars-" + X10 * 25, 285, False),
    (
        "Long tweet with url in the middle, overflow at char index 284",
        "285 chars- http://www.twitter.com/jack " + X10 * 24,
        299,
        False,
    ),
    ("Long tweet with url at the end", X10 * 24 + " http://www.twitter.com/jack ", 289, False),
    ("10 url string, no overflow", "https://www.twitter.com/aloha " * 10, 240, True),
    ("Handle a 64 character domain without protocol", "randomurl" * 7 + "s.com", 68, True),
    ("'Á' is normalized into 1 char", "A\u0301B", 2, True),
    ("שּׁ is normalized into 3 chars", "A\u05e9\u05bc\u05c1", 4, True),
    ("Emoji with a leading character in the latin range is counted as 2", "1\u20e3", 2, True),
    ("Count unicode emoji chars inside the basic multilingual plane", "😷👾😡🔥💩", 10, True),
    ("Unicode 9.0 emoji", "Unicode 9.0 emoji: 🤠; 💃; 💃🏾", 29, True),
    ("Handle invalid characters", "ABC\u202a\uffffABC\ufffe", 12, False),
    (
        "Tweet text containing directional characters should be considered valid",
        "\u2066\u202ahttp://foobar.پاکستان/\u202c\u2069",
        31,
        True,
    ),
]


@pytest.mark.parametrize(("description", "text", "length", "valid"), CONFORMANCE, ids=[c[0] for c in CONFORMANCE])
def test_it_counts_like_twitter_text(description, text, length, valid):
    counted = x_text.measure(text)
    assert counted.weighted_length == length
    assert counted.fits == valid


def test_it_counts_a_url_as_23_whatever_its_length():
    assert x_text.measure("https://example.com/" + "a" * 200).weighted_length == 23


def test_it_refuses_a_text_over_280_naming_the_field_and_the_count():
    with pytest.raises(ValidationError) as caught:
        x_text.check_fits("字" * 141, field="text")
    assert list(caught.value.message_dict) == ["text"]
    assert "282" in caught.value.message_dict["text"][0]


def test_it_accepts_280_weighted_characters_of_cjk():
    x_text.check_fits("字" * 140, field="text")  # 140 CJK characters are X's 280
