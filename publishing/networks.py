"""Each network's rules in one place: how a post's length is counted, how many media it
takes, whether it threads, and which ``PublishingLog.ErrorKind`` a client library's error is.

Length, as each network itself counts it:

- **X**: the weighted length of ``publishing.x_text`` (twitter-text v3: URLs 23, CJK and
  emoji 2, NFC first), limit 280.
- **Mastodon**: the server's ``StatusLengthValidator``: extended grapheme clusters of the
  text with every ``http(s)://`` URL replaced by 23 characters (URLs without a scheme are
  not links there and count as written), a remote mention ``@user@domain`` counted as
  ``@user``, and the content warning counted with the text. The limit is the instance's
  own (``configuration.statuses.max_characters`` of ``/api/v2/instance``, 500 by default),
  and so is the URL weight (``characters_reserved_per_url``).
- **Bluesky**: extended grapheme clusters (UAX #29, what the app's ``Intl.Segmenter``
  counts), 300 of them; the record also caps the text at 3,000 UTF-8 bytes.

Grapheme clusters come from ``regex``'s ``\\X``, a full UAX #29 implementation (atproto's own
``_grapheme_len`` is documented as an approximation, and Python's ``len`` counts code points:
a family emoji is 7 of them and one grapheme).

Errors: ``classify(network, exc, stage=...)`` maps Mastodon.py's and atproto's exceptions
into the same vocabulary as X (``publishers.classify``), so ``publishing.failures.ON_FAILURE``
handles every network's copy alike: a 429 waits for its reset, a 401 asks for a reconnect,
5xx and transport errors retry, a refused media fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import regex
from django.utils import timezone
from django.utils.translation import gettext as _
from twitter_text import extract_urls_with_indices

from publishing import x_text
from publishing.models import Network, PublishingLog
from publishing.publishers import PublishError
from publishing.publishers import classify as classify_x

ErrorKind = PublishingLog.ErrorKind
RATE_LIMIT_FALLBACK = timedelta(minutes=15)

_GRAPHEME = regex.compile(r"\X")
# Mastodon's mention: @user or @user@domain, not inside a word or an address.
_MASTODON_MENTION = regex.compile(r"(?<![=/\w])@(\w+)(?:@[\w.-]+\w)?")
MASTODON_DEFAULT_LIMIT = 500
MASTODON_URL_WEIGHT = 23
BLUESKY_LIMIT = 300
BLUESKY_MAX_BYTES = 3000


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text or ""))


def _x_length(text: str, limits: dict) -> int:
    return x_text.measure(text).weighted_length


def _mastodon_length(text: str, limits: dict) -> int:
    """The Mastodon server's count (``StatusLengthValidator#countable_text``)."""
    weight = int(limits.get("characters_reserved_per_url") or MASTODON_URL_WEIGHT)
    text = text or ""
    pieces, at = [], 0
    for found in extract_urls_with_indices(text):
        start, end = found["indices"]
        if not found["url"].lower().startswith(("http://", "https://")):
            continue  # Mastodon links only URLs with a scheme (extract_url_without_protocol: false)
        pieces.append(text[at:start])
        pieces.append("x" * weight)
        at = end
    pieces.append(text[at:])
    rewritten = "".join(pieces)
    rewritten = _MASTODON_MENTION.sub(lambda m: "@" + m.group(1), rewritten)
    return graphemes(rewritten)


def _bluesky_length(text: str, limits: dict) -> int:
    return graphemes(text)


@dataclass(frozen=True)
class Rules:
    network: str
    name: str  # as the owner reads it
    text_limit: int
    max_media: int
    alt_text_limit: int
    threads: bool
    video: bool  # a post may carry one video instead of images
    _count: Callable[[str, dict], int]
    url_note: str

    def limit(self, limits: dict | None = None) -> int:
        """The text limit, an instance's own where it says (Mastodon's ``/api/v2/instance``)."""
        return int((limits or {}).get("max_characters") or self.text_limit)

    def media_limit(self, limits: dict | None = None) -> int:
        return int((limits or {}).get("max_media_attachments") or self.max_media)

    def length(self, text: str, limits: dict | None = None) -> int:
        return self._count(text or "", limits or {}) if text else 0


RULES: dict[str, Rules] = {
    Network.X: Rules(Network.X, "X", 280, 4, 1000, True, True, _x_length, "links 23, CJK and emoji 2"),
    Network.MASTODON: Rules(
        Network.MASTODON, "Mastodon", MASTODON_DEFAULT_LIMIT, 4, 1500, True, True, _mastodon_length, "links 23"
    ),
    Network.BLUESKY: Rules(Network.BLUESKY, "Bluesky", BLUESKY_LIMIT, 4, 2000, True, False, _bluesky_length, ""),
}


@dataclass(frozen=True)
class Measured:
    network: str
    length: int
    limit: int
    fits: bool


def measure(network: str, text: str, *, limits: dict | None = None, spoiler_text: str = "") -> Measured:
    """``text``'s length as ``network`` counts it, its limit, and whether the network takes it."""
    rules = RULES[network]
    if network == Network.X:
        counted = x_text.measure(text)
        return Measured(network, counted.weighted_length, rules.limit(), counted.fits)
    length = rules.length(text, limits)
    if network == Network.MASTODON and spoiler_text:
        length += graphemes(spoiler_text)  # the content warning counts with the text
    limit = rules.limit(limits)
    fits = length <= limit
    if network == Network.BLUESKY:
        fits = fits and len((text or "").encode("utf-8")) <= BLUESKY_MAX_BYTES
    return Measured(network, length, limit, fits)


def too_long_reason(network: str, text: str, *, limits: dict | None = None, spoiler_text: str = "") -> str:
    """Why ``network`` would refuse ``text``, in the user's language; empty when it fits."""
    if network == Network.X:
        return x_text.too_long_reason(text)
    counted = measure(network, text, limits=limits, spoiler_text=spoiler_text)
    if counted.fits:
        return ""
    if network == Network.MASTODON:
        return _(
            "Too long for Mastodon: it counts %(n)s of %(limit)s characters (every link counts 23, "
            "and so does the spoiler text)."
        ) % {"n": counted.length, "limit": counted.limit}
    return _("Too long for Bluesky: it counts %(n)s of %(limit)s characters.") % {
        "n": counted.length,
        "limit": counted.limit,
    }


# --- errors -------------------------------------------------------------------------------


def _epoch(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _reset_or_fallback(reset: datetime | None) -> datetime:
    now = timezone.now()
    return reset if reset and reset > now else now + RATE_LIMIT_FALLBACK


def _network_error(message: str, *, stage: str, timeout: bool) -> PublishError:
    # A read timeout while posting: the request may have reached the server and been posted.
    return PublishError(ErrorKind.NETWORK, message, maybe_posted=stage == "post" and timeout)


def classify_mastodon(exc: BaseException, *, stage: str, reset_epoch=None) -> PublishError:
    """Mastodon.py's exceptions (``mastodon.errors``); ``reset_epoch`` is the client's
    ``ratelimit_reset``, parsed from the 429's ``X-RateLimit-Reset``."""
    from mastodon import errors as mastodon

    if isinstance(exc, PublishError):
        return exc
    message = str(exc)[:500]
    if isinstance(exc, mastodon.MastodonRatelimitError):
        return PublishError(ErrorKind.RATE_LIMIT, message, retry_at=_reset_or_fallback(_epoch(reset_epoch)))
    if isinstance(exc, mastodon.MastodonUnauthorizedError):
        return PublishError(ErrorKind.AUTH, message)
    if isinstance(exc, mastodon.MastodonNetworkError):
        timeout = isinstance(exc, mastodon.MastodonReadTimeout) or "timed out" in message.lower()
        return _network_error(f"Mastodon could not be reached: {message}", stage=stage, timeout=timeout)
    if isinstance(exc, mastodon.MastodonServerError):
        return PublishError(ErrorKind.SERVER, message)
    if isinstance(exc, mastodon.MastodonAPIError):
        status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        if status == 403 and stage != "upload":
            return PublishError(ErrorKind.AUTH, message)  # a suspended account or a revoked scope
        if stage == "upload" or status in (413, 415, 422) and "media" in message.lower():
            return PublishError(ErrorKind.MEDIA, message)
        return PublishError(ErrorKind.OTHER, message)
    if isinstance(exc, mastodon.MastodonIOError | OSError):
        return PublishError(ErrorKind.MEDIA, message)
    return classify_x(exc, stage=stage)  # media and source errors are the same for every network


def classify_bluesky(exc: BaseException, *, stage: str) -> PublishError:
    """atproto's exceptions (``atproto_client.exceptions``)."""
    from atproto_client import exceptions as at

    if isinstance(exc, PublishError):
        return exc
    message = str(exc)[:500] or type(exc).__name__
    if isinstance(exc, at.RateLimitExceededError):
        reset = exc.reset_at
        return PublishError(ErrorKind.RATE_LIMIT, message, retry_at=_reset_or_fallback(reset))
    if isinstance(exc, at.UnauthorizedError | at.LoginRequiredError):
        return PublishError(ErrorKind.AUTH, message)
    if isinstance(exc, at.NetworkError):
        status = exc.response.status_code if exc.response is not None else 0
        if status == 413:
            return PublishError(ErrorKind.MEDIA, message)
        if exc.response is not None:
            return PublishError(ErrorKind.SERVER, message)
        timeout = isinstance(exc, at.InvokeTimeoutError)
        return _network_error(f"Bluesky could not be reached: {message}", stage=stage, timeout=timeout)
    if isinstance(exc, at.BadRequestError):
        error = getattr(getattr(exc.response, "content", None), "error", "") or ""
        if error in ("ExpiredToken", "InvalidToken", "AuthenticationRequired", "AccountTakedown"):
            return PublishError(ErrorKind.AUTH, message)
        return PublishError(ErrorKind.MEDIA if stage == "upload" else ErrorKind.OTHER, message)
    if isinstance(exc, at.RequestException):
        status = exc.response.status_code if exc.response is not None else 0
        return PublishError(ErrorKind.SERVER if status >= 500 else ErrorKind.OTHER, message)
    if isinstance(exc, at.ModelError):
        return PublishError(ErrorKind.OTHER, message)
    return classify_x(exc, stage=stage)


def classify(network: str, exc: BaseException, *, stage: Literal["upload", "post"], **extra) -> PublishError:
    """One ``PublishError`` kind per failure, whatever the network."""
    if network == Network.MASTODON:
        return classify_mastodon(exc, stage=stage, **extra)
    if network == Network.BLUESKY:
        return classify_bluesky(exc, stage=stage)
    return classify_x(exc, stage=stage)
