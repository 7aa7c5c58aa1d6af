"""X's length rules: a post's weighted length as X counts it, and the refusal when it does not fit.

X does not count characters: every URL counts 23 however long (X shortens it to t.co),
CJK characters and emoji count 2 (an emoji sequence with its modifiers and joiners counts
once), and the text is NFC-normalised first, so a letter with a combining accent is one
character. The limit is 280 of these. ``twitter-text-parser`` is a port of X's own
twitter-text (v3 configuration) that passes its conformance suite; the composer's live
counter runs the official twitter-text JavaScript (vendored in ``publishing/static``), so
page and server agree (``tests/browser/test_composer.py`` compares them).

Alt text is counted in plain characters (X's limit there is 1,000 characters, not weighted).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from twitter_text import extract_urls_with_indices, parse_tweet

from publishing.content import X_TEXT_LIMIT


@dataclass(frozen=True)
class Measured:
    weighted_length: int
    fits: bool  # within the limit, and no character X refuses

    @property
    def limit(self) -> int:
        return X_TEXT_LIMIT


def measure(text: str) -> Measured:
    """The weighted length of ``text`` and whether X would take it (empty text fits: media only)."""
    if not text:
        return Measured(0, True)
    parsed = parse_tweet(text)
    return Measured(parsed.weightedLength, bool(parsed.valid))


def too_long_reason(text: str) -> str:
    """Why X would refuse ``text``, in the user's language; empty when it fits."""
    counted = measure(text)
    if counted.fits:
        return ""
    if counted.weighted_length > X_TEXT_LIMIT:
        return _(
            "Too long for X: it counts %(n)s of %(limit)s characters (every link counts 23, "
            "Chinese, Japanese, Korean characters and emoji count 2)."
        ) % {"n": counted.weighted_length, "limit": X_TEXT_LIMIT}
    return _("X does not accept one of the characters in this text.")


def check_fits(text: str, *, field: str) -> None:
    """Raise ``ValidationError`` keyed by ``field`` when X would refuse ``text``."""
    reason = too_long_reason(text)
    if reason:
        raise ValidationError({field: reason})


def segments(text: str) -> list[tuple[str, str, str]]:
    """``text`` cut into ("text", words, "") and ("link", shown, href) pieces, the links found
    as X finds them (a bare ``example.com`` is a link too), for the preview to draw."""
    pieces, at = [], 0
    for found in extract_urls_with_indices(text or ""):
        start, end = found["indices"]
        if start > at:
            pieces.append(("text", text[at:start], ""))
        url = found["url"]
        href = url if url.lower().startswith(("http://", "https://")) else "https://" + url
        pieces.append(("link", url, href))
        at = end
    if at < len(text or ""):
        pieces.append(("text", text[at:], ""))
    return pieces
