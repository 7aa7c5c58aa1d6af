"""Helpers for the write walks: the resolved routes, the owner's world, a whole-database snapshot.

``snapshot`` reads every row of every model of the project's own apps (found by where
the app lives, so an app added later is in it without a change here) plus django-q2's
queue, every field through the ORM. Two equal snapshots mean a request changed nothing a
user or a job could see.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.api_keys import apikey_create
from accounts.models import ApiKey, User
from messaging import attachments, delivery_links, links, owner_contacts, pauses, ping
from messaging import services as messaging_services
from messaging.models import Attachment, Delivery, DeliveryLink, Message, NamedNotice, OwnerContact
from messaging.named_sending import named_notices_send
from messaging.pause_models import Pause
from messaging.trusted_models import AccessRequest, TrustedContact
from publishing import alerts
from publishing import services as publishing_services
from publishing.models import ContentSource, NetworkAccount, Project, PublishingAlert, PublishingTask
from tests.publishing.conftest import SECRETS, png_bytes

ROOT = Path(settings.BASE_DIR).resolve()
# A POST that only queues a job still changes what will happen: the queue is watched too.
THIRD_PARTY_WATCHED = {"django_q", "otp_totp"}  # otp_totp: the TOTP devices (accounts.mfa)
CONTACT_CODE = "246810"  # the world's unverified contact's verification code
TELEGRAM_SECRET = "walk-telegram-webhook-secret"  # TELEGRAM_WEBHOOK_SECRET in the walks' settings
TELEGRAM_TOKEN = "walk-telegram-start-token"  # the world's Telegram contact's /start token


def resolved_routes() -> Iterator[tuple[str, str, object]]:
    """(namespaced name, route, callback) of every URL pattern, walked recursively."""

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                yield f"{namespace}{pattern.name or ''}", prefix + str(pattern.pattern), pattern.callback

    yield from walk(get_resolver().url_patterns, "", "")


# The rate limiter's counters: an outsider's refused attempt is meant to count there.
NOT_DATA = {"cradle_site.RateBucket"}


def watched_models() -> list:
    models = []
    for config in apps.get_app_configs():
        ours = Path(config.path).resolve().parent == ROOT  # top-level folders, not .venv's apps
        if ours or config.label in THIRD_PARTY_WATCHED:
            models += [
                m
                for m in config.get_models()
                if not m._meta.proxy and m._meta.managed and m._meta.label not in NOT_DATA
            ]
    return models


def snapshot() -> dict[str, list[dict]]:
    return {m._meta.label: list(m._base_manager.order_by("pk").values()) for m in watched_models()}


def changes(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict[str, tuple[list, list]]:
    """Per model label, the rows only in ``before`` and the rows only in ``after``."""
    found = {}
    for label in before:
        gone = [row for row in before[label] if row not in after[label]]
        new = [row for row in after[label] if row not in before[label]]
        if gone or new:
            found[label] = (gone, new)
    return found


AUDIT = "ops.AuditEvent"


def data_and_events(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> tuple[dict, list[str]]:
    """``changes`` without the audit log, and the event types the audit log gained.

    Apart so a walk can say both "the request changed data" (not merely wrote an event) and
    "it wrote exactly one event" (issue 17: one per operation).
    """
    found = changes(before, after)
    gone, new = found.pop(AUDIT, ([], []))
    assert not gone, "an audit event went away"
    return found, [row["event_type"] for row in new]


@dataclass
class World:
    """One owner's data, enough for every write to have something to act on."""

    owner: User
    outsider: User
    message: Message
    revocation_key: str
    checkin_token: str
    ping_secret: str  # the owner's personal check-in URL's token
    project: Project
    source: ContentSource
    task: PublishingTask  # pending: cancel and change act on it
    failed_task: PublishingTask  # failed: retry acts on it
    held_task: PublishingTask  # held (it may already be on X): post anyway / mark posted act on it
    published_task: PublishingTask  # published: marking it evergreen acts on it
    evergreen_task: PublishingTask  # published and evergreen: "stop reposting" acts on it
    pause: Pause  # a pause of a second message, in force: ending it acts on it
    alert: PublishingAlert  # an open incident: dismiss acts on it
    api_key: ApiKey
    media_root: Path
    contact: OwnerContact  # an e-mail contact, not verified yet: its code is CONTACT_CODE
    telegram_contact: OwnerContact  # a Telegram contact waiting for /start TELEGRAM_TOKEN
    attachment: Attachment  # a file on ``message``: removing it acts on it
    delivered_attachment: Attachment  # a file on a delivered message, on its recipient's page
    delivery_token: str  # that recipient's link: expired, so "send me a new link" acts on it
    network_account: NetworkAccount  # a connected Bluesky account: disconnecting acts on it
    named_token: str  # the confirm link of the "you are named" notice Rae got (messaging.named)
    mastodon_url: str = ""  # the Mastodon double's, when the walk runs one (network_doubles)
    # Trusted contacts (messaging.trusted): a confirmed one with a request waiting (refuse acts on it),
    # a confirmed one with none (its page's "Request access" and "Pause" act), one not confirmed yet.
    trusted_contact: TrustedContact | None = None
    access_request: AccessRequest | None = None
    trusted_token: str = ""  # the confirmed contact without a request
    trusted_new_token: str = ""  # the contact not confirmed yet

    def telegram_update(self) -> str:
        """The Bot API's update for ``/start TELEGRAM_TOKEN`` from a chat (JSON, as Telegram posts it)."""
        import json

        return json.dumps({"update_id": 1, "message": {"chat": {"id": 4242}, "text": f"/start {TELEGRAM_TOKEN}"}})

    @property
    def webhook_recipient(self):
        """The message's webhook recipient (its signing secret is shown and regenerated by POST)."""
        return self.message.recipients.get(contact_type="webhook")

    def new_folder(self) -> str:
        """A folder inside the owner's own folder that no source reads yet."""
        folder = self.media_root / "more"
        folder.mkdir(exist_ok=True)
        return str(folder)


def build_world(owner: User, outsider: User, media_root: Path) -> World:
    message, revocation_key = messaging_services.message_create(
        owner=owner,
        content="the secret plan",
        initial_delay_months=1,
        recipients=[
            {"name": "Rae", "contact": "rae@example.com", "contact_type": "email", "tell_named": True},
            {"name": "Hook", "contact": "https://hooks.example.com/walk", "contact_type": "webhook"},
        ],
    )
    named_token = _named_sent(message)
    # A second message, paused: ending the pause acts on it (the first one stays unpaused).
    quiet, _key = messaging_services.message_create(
        owner=owner,
        content="a quiet one",
        initial_delay_months=1,
        recipients=[{"name": "Q", "contact": "q@example.com"}],
    )
    pause = pauses.pause_start(owner=owner, until=timezone.now() + timedelta(days=7), message=quiet)
    # The first warning is out, so every answer (continue too) has something to act on.
    message.__class__.objects.filter(pk=message.pk).update(warning_level=1)
    message.refresh_from_db()
    project = publishing_services.project_create(owner=owner, name="Cats", slot_interval_minutes=30, daily_cap=1000)
    publishing_services.project_set_credentials(project=project, **SECRETS)
    project.gdrive_refresh_token = "rt-connected-drive"  # connected, so disconnecting changes something
    project.x_oauth_refresh_token = "rt-connected-x"  # the same for X
    # An alert webhook with its secret, so making a new secret changes something.
    project.alert_webhook_url = "https://hooks.example.org/alerts"
    project.alert_webhook_secret = "whsec_" + "A" * 43 + "="
    project.save(
        update_fields=["gdrive_refresh_token", "x_oauth_refresh_token", "alert_webhook_url", "alert_webhook_secret"]
    )
    (media_root / "cat.png").write_bytes(png_bytes(1))
    source = publishing_services.source_create(
        project=project, source_type="local_folder", path_or_identifier=str(media_root)
    )
    task = publishing_services.task_create(project=project, text="Pending post")
    failed_task = publishing_services.task_create(project=project, text="Failed post")
    PublishingTask.objects.filter(pk=failed_task.pk).update(status=PublishingTask.Status.FAILED)
    failed_task.refresh_from_db()
    held_task = publishing_services.task_create(project=project, media_path=str(media_root / "cat.png"))
    PublishingTask.objects.filter(pk=held_task.pk).update(status=PublishingTask.Status.HELD, maybe_posted=True)
    held_task.refresh_from_db()
    published_task = publishing_services.task_create(project=project, text="Published post")
    evergreen_task = publishing_services.task_create(project=project, text="Evergreen post")
    PublishingTask.objects.filter(pk=published_task.pk).update(status=PublishingTask.Status.SUCCESS)
    PublishingTask.objects.filter(pk=evergreen_task.pk).update(status=PublishingTask.Status.SUCCESS, evergreen=True)
    published_task.refresh_from_db()
    evergreen_task.refresh_from_db()
    alerts.alert_open(project_id=project.pk, kind=PublishingAlert.Kind.POST_FAILED)
    # Made as the connect service would (the doubles may not run while the world is built).
    network_account = NetworkAccount.objects.create(
        project=project, network=NetworkAccount.Network.BLUESKY, handle="walk.bsky.social", app_password="app-pw-walk"
    )
    contact, _link = owner_contacts.contact_add(owner=owner, kind="email", address="alice.phone@example.com")
    OwnerContact.objects.filter(pk=contact.pk).update(code_hash=owner_contacts._code_hash(contact, CONTACT_CODE))
    contact.refresh_from_db()
    # Made as the page would with a bot configured (the walks' settings may have none).
    telegram_contact = OwnerContact.objects.create(owner=owner, kind=OwnerContact.Kind.TELEGRAM)
    OwnerContact.objects.filter(pk=telegram_contact.pk).update(
        code_hash=owner_contacts._token_hash(TELEGRAM_TOKEN), code_sent_at=timezone.now()
    )
    telegram_contact.refresh_from_db()
    attachment = attachments.attachment_add(message=message, stream=io.BytesIO(b"%PDF-1.4 walk"), name="plan.pdf")
    delivered_attachment, delivery_token = _delivered(owner)
    trusted_world = _trusted(owner, message)
    return World(
        **trusted_world,
        owner=owner,
        outsider=outsider,
        message=message,
        revocation_key=revocation_key,
        checkin_token=links.checkin_token(message),
        ping_secret=ping.ping_token_create(owner=owner).secret,
        project=project,
        source=source,
        task=task,
        failed_task=failed_task,
        held_task=held_task,
        published_task=published_task,
        evergreen_task=evergreen_task,
        pause=pause,
        alert=PublishingAlert.objects.get(project=project),
        api_key=apikey_create(user=owner, name="script", permissions=["account:read"]).api_key,
        media_root=media_root,
        contact=contact,
        telegram_contact=telegram_contact,
        attachment=attachment,
        delivered_attachment=delivered_attachment,
        delivery_token=delivery_token,
        network_account=network_account,
        named_token=named_token,
    )


def _named_sent(message: Message) -> str:
    """Send Rae's "you are named" notice (to Django's test outbox) and return its confirm token;
    made long enough ago that the owner may send it again (``MESSAGING_NAMED_RESEND_MINUTES``)."""
    notice = NamedNotice.objects.get(message=message)
    token = notice.pending_token
    named_notices_send()
    NamedNotice.objects.filter(pk=notice.pk).update(created_at=timezone.now() - timedelta(hours=3))
    return token


def _delivered(owner: User) -> tuple[Attachment, str]:
    """A delivered message with a file, and its recipient's expired link (sent long enough ago
    that a new one may go out: ``MESSAGING_DELIVERY_LINK_RENEW_MINUTES``)."""
    left, _key = messaging_services.message_create(
        owner=owner,
        content="the letter",
        initial_delay_months=1,
        recipients=[{"name": "Sam", "contact": "sam@example.com", "contact_type": "email"}],
    )
    file = attachments.attachment_add(message=left, stream=io.BytesIO(b"%PDF-1.4 letter"), name="letter.pdf")
    long_ago = timezone.now() - timedelta(days=settings.MESSAGING_DELIVERY_LINK_DAYS + 1)
    Message.objects.filter(pk=left.pk).update(state=Message.State.DELIVERED, is_active=False, delivered_at=long_ago)
    delivery = Delivery.objects.create(
        message=left, recipient=left.recipients.get(), state=Delivery.State.SENT, delivered_at=long_ago
    )
    link, token = delivery_links.link_create(delivery=delivery, reason=DeliveryLink.Reason.DELIVERED, now=long_ago)
    delivery_links.link_delivered(link=link, sent_at=long_ago)
    return file, token


def _trusted(owner: User, message: Message) -> dict:
    """The owner's trusted contacts (tokens made here, as the invitation would carry them)."""
    import secrets

    from messaging import trusted

    trusted.trusted_access_set(message=message, mode="recipients")
    now = timezone.now()
    tokens = {name: secrets.token_urlsafe(32) for name in ("waiting", "free", "new")}

    def contact(name: str, email: str, verified: bool) -> TrustedContact:
        return TrustedContact.objects.create(
            owner=owner,
            name=name,
            email=email,
            wait_days=7,
            token_hash=trusted.token_hash(tokens[name]),
            verified_at=now if verified else None,
        )

    waiting = contact("waiting", "tess@example.net", True)
    contact("free", "tom@example.net", True)
    contact("new", "tia@example.net", False)
    request = AccessRequest.objects.create(
        owner=owner, contact=waiting, requested_at=now, grant_at=now + timedelta(days=7)
    )
    return {
        "trusted_contact": waiting,
        "access_request": request,
        "trusted_token": tokens["free"],
        "trusted_new_token": tokens["new"],
    }


@contextmanager
def network_doubles(settings):
    """A Mastodon instance and a Bluesky PDS double (tests.publishing.netdoubles) for the
    connect pages and API: the owner's token and app password there are ``mastodon-token-1``
    and ``app-pass-1234`` for ``alice.bsky.social``."""
    from tests.publishing.netdoubles import BlueskyDouble, MastodonDouble

    settings.OUTBOUND_ALLOW_PRIVATE = True  # the doubles listen on 127.0.0.1
    with MastodonDouble() as mastodon, BlueskyDouble() as bluesky:
        settings.PUBLISHING_BLUESKY_PDS_URL = bluesky.url
        yield mastodon, bluesky
