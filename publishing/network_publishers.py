"""Publishers for the open networks, behind the interface of ``publishers.TweepyPublisher``:
``publish(task, keep_alive) -> PublishResult``, every failure a ``PublishError`` of the
same vocabulary (``publishing.networks.classify``), ``LeaseLost`` let through.

**Mastodon** (Mastodon.py): media through ``POST /api/v2/media`` with its description (alt
text), polled until processed when the instance answers 202; then ``POST /api/v1/statuses``
with ``in_reply_to_id`` for a thread's replies, the content warning (``spoiler_text``) and
visibility. Every status carries an ``Idempotency-Key`` fixed by the task and the post's
position, so a retry after a timeout or a dead worker gets back the status the instance
already made instead of a second one (Mastodon keeps the key for an hour). The instance URL
is the owner's input: every request goes through ``cradle_site.outbound``'s session, which
refuses private and metadata addresses where the socket opens. Mastodon.py never sleeps on
a 429 here (``ratelimit_method="throw"``); the reset it read from ``X-RateLimit-Reset``
becomes the task's retry time.

**Bluesky** (atproto): logs in with the handle and app password once and keeps the session
(``NetworkAccount.session``, encrypted; refreshed by atproto, saved on every change). Images
go up with ``com.atproto.repo.uploadBlob`` and ride in an ``app.bsky.embed.images`` embed
with their alt text; links, mentions and hashtags become facets by atproto's own detection
(``Client.detect_facets``, mentions resolved to DIDs). A post without images whose text has
a link gets an ``app.bsky.embed.external`` card for the first link (``link_cards``: the
page's og: tags or <title>, its image uploaded as the thumb); any failure there posts
without a card. A reply carries ``root`` and
``parent`` strong refs (a post's ``posted_id`` is ``"<at-uri> <cid>"``). Each record is
written under a record key made from the task and the position (``record_key``): a retry of
a task that may already be posted reads that record first, so it is never written twice.
The PDS is the operator's (``PUBLISHING_BLUESKY_PDS_URL``), never an address from a DID
document: the client is pinned to it (bsky.social's entryway serves every account it hosts).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings

from cradle_site import outbound
from publishing import link_cards, networks
from publishing.media import no_keep_alive, open_media
from publishing.models import Network, NetworkAccount, PublishingTask
from publishing.publishers import PublishError, PublishResult
from publishing.queue import LeaseLost
from publishing.threads import thread_posts, thread_record

ErrorKind = networks.ErrorKind
log = logging.getLogger(__name__)
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def mastodon_client(instance_url: str, access_token: str, *, version: str = ""):
    """Mastodon.py on the SSRF-checked session; a 429 raises (never sleeps in a worker)."""
    from mastodon import Mastodon

    return Mastodon(
        access_token=access_token,
        api_base_url=instance_url,
        ratelimit_method="throw",
        request_timeout=settings.PUBLISHING_HTTP_TIMEOUT,
        version_check_mode="created",  # with mastodon_version: parsed, never fetched at start
        mastodon_version=version or "4.3.0",
        session=outbound.session(),
    )


class MastodonPublisher:
    dry_run = False
    network = Network.MASTODON

    def __init__(self, account: NetworkAccount):
        self.account = account
        self.client = mastodon_client(
            account.instance_url, account.access_token, version=(account.limits or {}).get("version", "")
        )

    def _classify(self, exc: BaseException, stage: str) -> PublishError:
        return networks.classify_mastodon(exc, stage=stage, reset_epoch=self.client.ratelimit_reset)

    def _upload(self, task, media: dict, alt_text: str, keep_alive: Callable[[], None]) -> str:
        limit = networks.RULES[Network.MASTODON].alt_text_limit
        with open_media(task, media, keep_alive) as found:
            uploaded = self.client.media_post(
                found.file,
                mime_type=found.mime,
                description=(alt_text or None) and alt_text[:limit],
                file_name=found.name,
            )
        deadline = time.monotonic() + settings.PUBLISHING_MEDIA_PROCESSING_TIMEOUT
        while uploaded.get("url") is None:  # 202: still processing (a video)
            keep_alive()
            if time.monotonic() > deadline:
                raise PublishError(ErrorKind.MEDIA, "Mastodon did not finish processing the media in time")
            time.sleep(1.0)
            uploaded = self.client.media(uploaded["id"])
        return str(uploaded["id"])

    def publish(self, task: PublishingTask, keep_alive: Callable[[], None] = no_keep_alive) -> PublishResult:
        data = task.content_data or {}
        visibility = data.get("visibility") or self.account.default_visibility
        spoiler = data.get("spoiler_text") or None
        posts = thread_posts(task)
        previous = ""
        for post in posts:
            if post.posted_id:
                previous = post.posted_id
                continue
            try:
                media_ids = [self._upload(task, media, alt, keep_alive) for media, alt in post.media]
            except LeaseLost:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes
                raise self._classify(exc, "upload") from exc
            keep_alive()
            try:
                status = self.client.status_post(
                    post.text,
                    in_reply_to_id=previous or None,
                    media_ids=media_ids or None,
                    spoiler_text=spoiler,
                    sensitive=bool(spoiler),
                    visibility=visibility,
                    idempotency_key=f"cradle-task-{task.pk}-{post.position}",
                )
            except Exception as exc:  # noqa: BLE001
                raise self._classify(exc, "post") from exc
            previous = str(status["id"])
            thread_record(task, post.position, previous)
        return PublishResult(tweet_id=posts[0].posted_id or task.posted_id, text=task.text)


def record_key(task: PublishingTask, position: int) -> str:
    """A TID (13 characters of base32-sortable) fixed by the task and the post's position.

    53 bits of microseconds (the task's creation, plus a step per 1,024 tasks and the
    position, so tasks made in the same microsecond differ) and 10 bits of clock id (the
    task id's low bits): the same for every attempt of this post, different for every other
    post of the account."""
    micros = int(task.created_at.timestamp() * 1_000_000) + (task.pk // 1024) * 64 + position
    value = ((micros & ((1 << 53) - 1)) << 10) | (task.pk % 1024)
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def _strong_ref(posted_id: str):
    from atproto_client import models

    uri, _, cid = posted_id.partition(" ")
    return models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid)


class BlueskyPublisher:
    dry_run = False
    network = Network.BLUESKY

    def __init__(self, account: NetworkAccount, *, save_session: bool = True):
        from atproto_client import Client
        from atproto_client.request import Request

        pds = (account.instance_url or settings.PUBLISHING_BLUESKY_PDS_URL).rstrip("/")

        class PinnedClient(Client):
            def _update_pds_endpoint(self, pds_endpoint: str) -> None:
                pass  # never a DID document's address: only the operator's PDS is reached

        self.account = account
        self.client = PinnedClient(base_url=pds + "/xrpc", request=Request(timeout=settings.PUBLISHING_HTTP_TIMEOUT))
        if save_session:
            self.client.on_session_change(self._save_session)
        self.logged_in = False

    def _save_session(self, event, session) -> None:
        text = session.encode()
        if text != self.account.session:
            self.account.session = text  # encrypted by the field on the way to the database
            NetworkAccount.objects.filter(pk=self.account.pk).update(session=text)

    def login(self) -> None:
        from atproto_client import exceptions as at

        if self.logged_in:
            return
        try:
            if self.account.session:
                try:
                    self.client.login(session_string=self.account.session, fetch_bsky_profile=False)
                    self.client.com.atproto.server.get_session()
                    self.logged_in = True
                    return
                except (at.UnauthorizedError, at.BadRequestError, at.LoginRequiredError):
                    pass  # the refresh token ran out too: log in again with the app password
            self.client.login(self.account.handle, self.account.app_password, fetch_bsky_profile=False)
        except Exception as exc:  # noqa: BLE001
            raise networks.classify_bluesky(exc, stage="post") from exc
        self.logged_in = True

    @property
    def did(self) -> str:
        return self.client._session.did

    def _upload(self, task, media: dict, alt_text: str, keep_alive: Callable[[], None]):
        from atproto_client import models

        with open_media(task, media, keep_alive) as found:
            if not found.mime.startswith("image/"):
                raise PublishError(ErrorKind.MEDIA, "Bluesky takes images here; post a video on X or Mastodon.")
            blob = self.client.upload_blob(found.file.read()).blob
        limit = networks.RULES[Network.BLUESKY].alt_text_limit
        return models.AppBskyEmbedImages.Image(alt=(alt_text or "")[:limit], image=blob)

    def _link_card(self, task, position: int, facets, keep_alive: Callable[[], None]):
        """An ``app.bsky.embed.external`` card for the post's first link, or None (never a failure).

        The page and its image are fetched by ``link_cards`` (SSRF-checked, time- and
        byte-capped); the image goes up as the card's thumb blob. Any failure, of the page,
        the image or its upload, is logged with its reason and the post goes without a card."""
        from atproto_client import models

        uri = link_cards.first_link(facets)
        if not uri:
            return None
        try:
            card = link_cards.fetch_card(uri)
            keep_alive()
            thumb = self.client.upload_blob(card.image).blob if card.image else None
        except LeaseLost:
            raise
        except link_cards.CardSkipped as exc:
            log.info("Bluesky task %s post %s: no link card, %s", task.pk, position, exc)
            return None
        except Exception as exc:  # noqa: BLE001 - a card never fails a post
            log.warning("Bluesky task %s post %s: no link card, %s", task.pk, position, type(exc).__name__)
            return None
        external = models.AppBskyEmbedExternal.External(
            uri=card.uri, title=card.title, description=card.description, thumb=thumb
        )
        return models.AppBskyEmbedExternal.Main(external=external)

    def _existing(self, rkey: str) -> str:
        """The ``posted_id`` of the record under ``rkey`` if an earlier attempt wrote it, else ""."""
        from atproto_client import exceptions as at

        try:
            found = self.client.com.atproto.repo.get_record(
                {"repo": self.did, "collection": "app.bsky.feed.post", "rkey": rkey}
            )
        except at.BadRequestError:
            return ""  # RecordNotFound
        return f"{found.uri} {found.cid}"

    def publish(self, task: PublishingTask, keep_alive: Callable[[], None] = no_keep_alive) -> PublishResult:
        from atproto_client import models

        self.login()
        posts = thread_posts(task)
        root = previous = ""
        for post in posts:
            if post.posted_id:
                previous = post.posted_id
                root = root or previous
                continue
            rkey = record_key(task, post.position)
            try:
                posted = self._existing(rkey) if task.maybe_posted else ""
                if not posted:
                    try:
                        images = [self._upload(task, media, alt, keep_alive) for media, alt in post.media]
                    except (LeaseLost, PublishError):
                        raise
                    except Exception as exc:  # noqa: BLE001
                        raise networks.classify_bluesky(exc, stage="upload") from exc
                    keep_alive()
                    reply = None
                    if previous:
                        reply = models.AppBskyFeedPost.ReplyRef(root=_strong_ref(root), parent=_strong_ref(previous))
                    facets = self.client.detect_facets(post.text) or None
                    if images:
                        embed = models.AppBskyEmbedImages.Main(images=images)
                    else:
                        embed = self._link_card(task, post.position, facets, keep_alive)
                        keep_alive()
                    record = models.AppBskyFeedPost.Record(
                        created_at=self.client.get_current_time_iso(),
                        text=post.text,
                        facets=facets,
                        reply=reply,
                        embed=embed,
                        langs=None,
                    )
                    created = self.client.app.bsky.feed.post.create(self.did, record, rkey=rkey)
                    posted = f"{created.uri} {created.cid}"
            except (LeaseLost, PublishError):
                raise
            except Exception as exc:  # noqa: BLE001
                raise networks.classify_bluesky(exc, stage="post") from exc
            previous = posted
            root = root or posted
            thread_record(task, post.position, posted)
        return PublishResult(tweet_id=posts[0].posted_id or task.posted_id, text=task.text)


def publisher_for_account(account: NetworkAccount) -> MastodonPublisher | BlueskyPublisher:
    if account.network == Network.MASTODON:
        return MastodonPublisher(account)
    if account.network == Network.BLUESKY:
        return BlueskyPublisher(account)
    raise ValueError(f"no publisher for {account.network}")  # X is the project's own (publishers.publisher_for)
