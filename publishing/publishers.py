"""Publishers: the dry run (default without credentials) and X through tweepy 4.17.

The tweepy publisher uploads media through ``tweepy.API`` (v1.1, OAuth 1.0a): a simple
upload for images and GIFs, a chunked upload for video whose ``processing_info`` is polled
until ``succeeded`` (``failed`` is a media error), alt text through
``create_media_metadata``, then ``tweepy.Client.create_tweet``. Every failure becomes a
``PublishError`` with one ``kind`` (the PublishingLog.error_kind vocabulary) that the
runner turns into an outcome.

``PUBLISHING_X_BASE_URL`` points both X hosts at one other base (a local double in
tests) through a requests adapter on tweepy's own sessions, so tweepy's real code builds,
signs and sends every request. The adapter also gives tweepy.Client the timeout it lacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

import requests
import tweepy
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter

from cradle_site.outbound_errors import outbound_failure
from publishing.content import ALT_TEXT_LIMIT
from publishing.media import MediaError, no_keep_alive, open_media
from publishing.models import Project, PublishingLog, PublishingTask
from publishing.queue import LeaseLost
from publishing.sources import SourceError
from publishing.threads import thread_posts, thread_record

X_HOSTS = {"api.twitter.com", "upload.twitter.com", "api.x.com", "upload.x.com"}
RATE_LIMIT_FALLBACK = timedelta(minutes=15)
ErrorKind = PublishingLog.ErrorKind


@dataclass(frozen=True)
class PublishResult:
    tweet_id: str
    text: str


class PublishError(Exception):
    def __init__(self, kind: ErrorKind, message: str, *, retry_at: datetime | None = None, maybe_posted: bool = False):
        super().__init__(message)
        self.kind = ErrorKind(kind)  # a kind outside the vocabulary fails here, not in the log write
        self.message = message
        self.retry_at = retry_at
        self.maybe_posted = maybe_posted


class DryRunPublisher:
    """Posts nothing: the log records what would have been posted."""

    dry_run = True

    def publish(self, task: PublishingTask) -> PublishResult:
        return PublishResult(tweet_id=f"dry-run-{task.pk}", text=task.text)


class _XAdapter(HTTPAdapter):
    def __init__(self, base_url: str, timeout: float):
        super().__init__()
        self.base_url = base_url
        self.timeout = timeout

    def send(self, request, timeout=None, **kwargs):
        if self.base_url:
            parts = urlsplit(request.url)
            if parts.hostname in X_HOSTS:
                request.url = self.base_url + request.url[len(f"{parts.scheme}://{parts.netloc}") :]
        return super().send(request, timeout=timeout or self.timeout, **kwargs)


def _install_adapter(session: requests.Session) -> None:
    adapter = _XAdapter(settings.PUBLISHING_X_BASE_URL, settings.PUBLISHING_HTTP_TIMEOUT)
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def _reset_time(exc: tweepy.TooManyRequests) -> datetime:
    reset = getattr(exc, "reset_time", None) or exc.response.headers.get("x-rate-limit-reset")
    if reset:
        try:
            return datetime.fromtimestamp(int(reset), tz=UTC)
        except (TypeError, ValueError, OverflowError):
            pass
    return timezone.now() + RATE_LIMIT_FALLBACK


def _messages(exc: tweepy.HTTPException) -> str:
    parts = list(exc.api_messages or []) + list(exc.api_errors and [str(e) for e in exc.api_errors] or [])
    text = "; ".join(dict.fromkeys(str(p) for p in parts if p)) or (exc.response.text or "")[:300]
    return f"{exc.response.status_code}: {text}"


def classify(exc: BaseException, *, stage: Literal["upload", "post"]) -> PublishError:
    """One PublishError kind per failure; ``stage`` is "upload" (the media) or "post"."""
    if isinstance(exc, PublishError):
        return exc
    if isinstance(exc, tweepy.TooManyRequests):
        return PublishError(ErrorKind.RATE_LIMIT, _messages(exc), retry_at=_reset_time(exc))
    if isinstance(exc, tweepy.Unauthorized):
        return PublishError(ErrorKind.AUTH, _messages(exc))
    if isinstance(exc, tweepy.Forbidden):
        message = _messages(exc)
        if "duplicate" in message.lower():
            return PublishError(ErrorKind.DUPLICATE, message)
        return PublishError(ErrorKind.MEDIA if stage == "upload" else ErrorKind.OTHER, message)
    if isinstance(exc, tweepy.TwitterServerError):
        return PublishError(ErrorKind.SERVER, _messages(exc))
    if isinstance(exc, tweepy.BadRequest):
        return PublishError(ErrorKind.MEDIA if stage == "upload" else ErrorKind.OTHER, _messages(exc))
    if isinstance(exc, tweepy.HTTPException):
        return PublishError(ErrorKind.OTHER, _messages(exc))
    # tweepy.API wraps transport errors in TweepyException; tweepy.Client lets them through.
    cause = exc.__context__ if isinstance(exc, tweepy.TweepyException) else exc
    if isinstance(cause, requests.RequestException):
        # A read timeout while posting: the request may have reached X and been posted.
        maybe_posted = stage == "post" and isinstance(cause, requests.ReadTimeout)
        # The sentence, not the exception: requests' text carries the pool repr and the URL.
        url = getattr(cause.request, "url", None) or "https://api.x.com/"
        message = outbound_failure(cause, url=url).message
        return PublishError(ErrorKind.NETWORK, message, maybe_posted=maybe_posted)
    if isinstance(exc, SourceError):
        return PublishError(ErrorKind.NETWORK, str(exc))
    if isinstance(exc, MediaError):
        return PublishError(ErrorKind.MEDIA, str(exc))
    if isinstance(exc, OSError):
        return PublishError(ErrorKind.MEDIA, f"{type(exc).__name__}: {exc}")
    return PublishError(ErrorKind.OTHER, f"{type(exc).__name__}: {exc}")


class _KeepAliveReader:
    """A file whose every read (tweepy reads a chunked upload piece by piece) calls ``keep_alive``."""

    def __init__(self, file, keep_alive: Callable[[], None]) -> None:
        self._file = file
        self._keep_alive = keep_alive

    def read(self, size: int = -1) -> bytes:
        self._keep_alive()
        return self._file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:  # tweepy closes the file after the last chunk
        self._file.close()


class TweepyPublisher:
    dry_run = False

    def __init__(self, project: Project):
        auth = tweepy.OAuth1UserHandler(
            project.x_consumer_key, project.x_consumer_secret, project.x_access_token, project.x_access_token_secret
        )
        self.api = tweepy.API(auth, timeout=settings.PUBLISHING_HTTP_TIMEOUT)
        _install_adapter(self.api.session)
        self.client = tweepy.Client(
            consumer_key=project.x_consumer_key,
            consumer_secret=project.x_consumer_secret,
            access_token=project.x_access_token,
            access_token_secret=project.x_access_token_secret,
        )
        _install_adapter(self.client.session)

    def _wait_for_processing(self, media, keep_alive: Callable[[], None]) -> None:
        deadline = time.monotonic() + settings.PUBLISHING_MEDIA_PROCESSING_TIMEOUT
        info = getattr(media, "processing_info", None)
        while info and info.get("state") in ("pending", "in_progress"):
            keep_alive()
            if time.monotonic() > deadline:
                raise PublishError(ErrorKind.MEDIA, "X did not finish processing the video in time")
            time.sleep(min(float(info.get("check_after_secs", 1)), 30.0))
            media = self.api.get_media_upload_status(media.media_id)
            info = getattr(media, "processing_info", None)
        if info and info.get("state") == "failed":
            error = info.get("error") or {}
            raise PublishError(
                ErrorKind.MEDIA, f"X could not process the media: {error.get('message') or error or 'failed'}"
            )

    def upload(self, task: PublishingTask, media: dict, alt_text: str, keep_alive: Callable[[], None]) -> str:
        with open_media(task, media, keep_alive) as found:
            is_video = found.mime.startswith("video/")
            if is_video:
                uploaded = self.api.chunked_upload(
                    found.name,
                    file=_KeepAliveReader(found.file, keep_alive),
                    file_type=found.mime,
                    wait_for_async_finalize=False,
                    media_category="tweet_video",
                )
            else:
                uploaded = self.api.simple_upload(found.name, file=found.file)
        if is_video:
            self._wait_for_processing(uploaded, keep_alive)
        media_id = uploaded.media_id_string if hasattr(uploaded, "media_id_string") else str(uploaded.media_id)
        if alt_text and not is_video:
            self.api.create_media_metadata(media_id, alt_text[:ALT_TEXT_LIMIT])
        return media_id

    def publish(self, task: PublishingTask, keep_alive: Callable[[], None] = no_keep_alive) -> PublishResult:
        """Upload the media and post; ``keep_alive`` (``queue.LeaseKeeper``) runs throughout.

        A thread is posted in order, each reply answering the post before it; every post's
        id is recorded as soon as X answers (``threads.thread_record``), and a post that
        already has one is not posted again, so a retry resumes where the last attempt
        stopped. ``LeaseLost`` is let through unclassified: the task is someone else's now.
        """
        posts = thread_posts(task)
        previous = ""
        for post in posts:
            if post.posted_id:
                previous = post.posted_id
                continue
            previous = self._post_one(task, post, previous, keep_alive)
            thread_record(task, post.position, previous)
        return PublishResult(tweet_id=posts[0].posted_id or task.posted_id, text=task.text)

    def _post_one(self, task: PublishingTask, post, in_reply_to: str, keep_alive: Callable[[], None]) -> str:
        media_ids = None
        if post.media:
            try:
                media_ids = [self.upload(task, media, alt_text, keep_alive) for media, alt_text in post.media]
            except LeaseLost:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes
                raise classify(exc, stage="upload") from exc
        keep_alive()  # still ours, with at least two thirds of a lease left for the post
        try:
            response = self.client.create_tweet(
                text=post.text or None,
                media_ids=media_ids,
                in_reply_to_tweet_id=in_reply_to or None,
                user_auth=True,
            )
        except Exception as exc:  # noqa: BLE001
            raise classify(exc, stage="post") from exc
        return str(response.data["id"])


def publisher_for(project: Project) -> DryRunPublisher | TweepyPublisher:
    return TweepyPublisher(project) if project.has_credentials else DryRunPublisher()
