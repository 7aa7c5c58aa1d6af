"""The audit log's Must-hold (issue 17): every operation that changes data writes exactly one
audit event, of the right type, naming the actor; no event holds a secret, a message's text
or a recipient's contact (checked on the raw rows, with known secret strings); the event is
written in the operation's transaction (a rollback leaves none).

The walk calls the services the way the pages, the API, the admin actions and the jobs do;
each step names the event type it must add, and nothing else may appear.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import email_verification
from accounts.api_keys import apikey_create, apikey_revoke
from cradle_site.audit_vocabulary import ActorKind, EventType, acting_as_job
from messaging import (
    attachments,
    delivery,
    delivery_links,
    named,
    owner_contacts,
    owner_notify,
    pauses,
    services,
    trusted,
    webhook_secrets,
)
from messaging.models import AccessRequest, Attachment, Delivery, DeliveryLink, Message, TrustedContact
from messaging.named_sending import named_notices_send
from ops.audit_models import AuditEvent
from ops.backup import backup_create
from ops.sealed import BackupError
from publishing import alerts, composer, drive_oauth, scan_runs, uploads
from publishing import services as publishing
from publishing.models import ContentSource, Project, PublishingTask
from tests.conftest import give_totp, totp_code
from tests.publishing.conftest import png_bytes

pytestmark = pytest.mark.django_db

CONTENT = "SECRET-CONTENT-7f3a the words for my family"
TITLE = "SECRET-TITLE-19c2"
CONTACT = "secret-rcpt-55e1@example.org"
NEW_CONTENT = "SECRET-CONTENT-2-0d9e"
X_SECRET = "XSECRET-a8b7c6d5"
FEED_CREDENTIAL = "FEEDCRED-3e4f"
NEW_PASSWORD = "SECRET-PW-new-4242!"
HOOK = "https://hooks.example.org/secret-hook-71c0"
POST_TEXT = "SECRET-POST-9a1b on the roof"
NEW_POST_TEXT = "SECRET-POST-2-4c4d"
ALT_TEXT = "SECRET-ALT-0e0f a grey cat"


class Walk:
    """Runs steps and asserts each adds exactly one event, of the type it names."""

    def __init__(self) -> None:
        self.secrets: list[str] = [
            *(CONTENT, TITLE, CONTACT, NEW_CONTENT, X_SECRET, FEED_CREDENTIAL, NEW_PASSWORD),
            *(HOOK, POST_TEXT, NEW_POST_TEXT, ALT_TEXT),
        ]
        self.events: list[AuditEvent] = []

    def step(self, expected: str, action, *, actor_kind: str | None = None):
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        result = action()
        added = list(AuditEvent.objects.filter(id__gt=before).order_by("id"))
        assert [e.event_type for e in added] == [expected], f"{expected}: got {[e.event_type for e in added]}"
        if actor_kind is not None:
            assert added[0].actor_kind == actor_kind, (expected, added[0].actor_kind)
        self.events.extend(added)
        return result


def _raw_rows() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM ops_auditevent")
        return "\n".join(repr(row) for row in cursor.fetchall())


def test_every_operation_writes_exactly_one_event_and_no_secret(owner, staff, settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    walk = Walk()

    # accounts: keys, e-mail change, log-in, two-factor, password.
    new_key = walk.step(
        EventType.API_KEY_CREATED, lambda: apikey_create(user=owner, name="script", permissions=["messages:read"])
    )
    # crd_<prefix>_<secret>: the prefix is hex, the secret may hold "_" itself (token_urlsafe).
    walk.secrets += [new_key.secret, new_key.secret.split("_", 2)[-1], new_key.api_key.key_hash]
    walk.step(EventType.API_KEY_REVOKED, lambda: apikey_revoke(api_key=new_key.api_key))
    walk.step(
        EventType.EMAIL_CHANGE_REQUESTED,
        lambda: email_verification.email_change_request(user=owner, new_email="alice@new.example"),
    )
    token = email_verification.email_change_token(owner, "alice@new.example")
    walk.secrets.append(token)
    walk.step(EventType.EMAIL_CHANGED, lambda: email_verification.email_change_confirm(user=owner, token=token))
    browser = Client(REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="WalkBrowser/1")
    walk.step(
        EventType.LOGIN,
        lambda: browser.post(reverse("accounts:login"), {"username": "alice", "password": "pw-alice-123!"}),
        actor_kind=ActorKind.USER,
    )
    assert walk.events[-1].ip == "198.51.100.4" and walk.events[-1].user_agent == "WalkBrowser/1"
    browser.get(reverse("accounts:totp_add"))
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    walk.secrets.append(device.key)
    walk.step(EventType.MFA_ENABLED, lambda: browser.post(reverse("accounts:totp_add"), {"code": totp_code(device)}))
    walk.step(
        EventType.PASSWORD_CHANGED,
        lambda: browser.post(
            reverse("accounts:password_change"),
            {"old_password": "pw-alice-123!", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        ),
    )

    # messaging: create, change, reset, continue, revoke, deliver, retry, revoke by key.
    message, revocation_key = walk.step(
        EventType.MESSAGE_CREATED,
        lambda: services.message_create(
            owner=owner,
            title=TITLE,
            content=CONTENT,
            initial_delay_months=1,
            recipients=[{"name": "Rae", "contact": CONTACT, "contact_type": "email"}],
        ),
    )
    walk.secrets.append(revocation_key)
    walk.step(
        EventType.MESSAGE_CHANGED,
        lambda: services.message_update(message=message, title=TITLE, content=NEW_CONTENT, initial_delay_months=2),
    )
    assert walk.events[-1].extra_data["fields"] == ["content", "initial_delay_months"]
    walk.step(EventType.MESSAGE_RESET, lambda: services.message_reset(message=message))
    Message.objects.filter(pk=message.pk).update(warning_level=1)
    walk.step(EventType.MESSAGE_ANSWERED, lambda: services.message_continue(message=message))
    hooked, _key = services.message_create(
        owner=owner,
        content=CONTENT,
        initial_delay_months=1,
        recipients=[{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}],
    )
    walk.secrets.append(
        walk.step(
            EventType.MESSAGE_CHANGED,
            lambda: webhook_secrets.recipient_secret_regenerate(recipient=hooked.recipients.get()),
        )
    )
    assert walk.events[-1].extra_data["fields"] == ["webhook_secret"]
    walk.step(EventType.MESSAGE_DELETED, lambda: services.message_delete(message=hooked))
    walk.step(EventType.MESSAGE_REVOKED, lambda: services.message_revoke(message=message))

    delivered, _key = services.message_create(
        owner=owner, content=CONTENT, initial_delay_months=1, recipients=[{"name": "R", "contact": CONTACT}]
    )
    Message.objects.filter(pk=delivered.pk).update(state=Message.State.DELIVERING, is_active=False)
    recipient = delivered.recipients.get()
    failed = Delivery.objects.create(message=delivered, recipient=recipient, state=Delivery.State.FAILED)
    walk.step(EventType.DELIVERY_RETRIED, lambda: services.delivery_retry(delivery=failed), actor_kind=ActorKind.SYSTEM)
    Delivery.objects.filter(pk=failed.pk).update(state=Delivery.State.SENT, delivered_at=timezone.now())

    def complete():
        with transaction.atomic():
            return delivery.message_complete(message_id=delivered.pk)

    walk.step(EventType.MESSAGE_DELIVERED, complete, actor_kind=ActorKind.JOB)
    assert walk.events[-1].actor_label == "delivery"

    by_key, public_key = services.message_create(
        owner=owner, content=CONTENT, initial_delay_months=1, recipients=[{"name": "R", "contact": CONTACT}]
    )
    walk.secrets.append(public_key)
    walk.step(
        EventType.MESSAGE_REVOKED,
        lambda: services.message_revoke_by_key(key=public_key),
        actor_kind=ActorKind.PUBLIC,
    )

    # publishing: projects, credentials, sources, tasks.
    project = walk.step(EventType.PROJECT_CREATED, lambda: publishing.project_create(owner=owner, name="Cats"))
    walk.step(EventType.PROJECT_CHANGED, lambda: publishing.project_update(project=project, name="Cats daily"))
    assert walk.events[-1].extra_data["fields"] == ["name"] and walk.events[-1].object_label == "Cats daily"
    credentials = {name: f"{X_SECRET}-{name}" for name in publishing.CREDENTIAL_FIELDS}
    walk.step(EventType.PROJECT_CHANGED, lambda: publishing.project_set_credentials(project=project, **credentials))
    walk.step(EventType.PROJECT_CHANGED, lambda: publishing.project_clear_credentials(project=project))
    walk.step(EventType.PROJECT_CHANGED, lambda: publishing.project_set_paused(project=project, paused=True))
    walk.step(
        EventType.PROJECT_CHANGED,
        lambda: publishing.project_update(project=project, alert_webhook_url="https://hooks.example.org/cats"),
    )
    walk.secrets.append(Project.objects.get(pk=project.pk).alert_webhook_secret)
    walk.secrets.append(walk.step(EventType.PROJECT_CHANGED, lambda: alerts.webhook_secret_regenerate(project=project)))
    assert walk.events[-1].extra_data["fields"] == ["alert_webhook_secret"]
    walk.step(
        EventType.SOURCE_CREATED,
        lambda: publishing.source_create(
            project=project,
            source_type="rss_feed",
            path_or_identifier="https://feeds.example.org/cats.xml",
            credential=FEED_CREDENTIAL,
        ),
    )
    task = walk.step(
        EventType.TASK_CREATED,
        lambda: publishing.task_create(project=project, text="hello", scheduled_at=timezone.now() + timedelta(days=1)),
    )
    walk.step(
        EventType.TASK_CHANGED,
        lambda: publishing.task_reschedule(task=task, scheduled_at=timezone.now() + timedelta(days=2)),
    )
    walk.step(EventType.TASK_CHANGED, lambda: publishing.task_cancel(task=task))
    walk.step(EventType.TASK_RETRIED, lambda: publishing.task_retry(task=task))
    source = ContentSource.objects.get(project=project)
    walk.step(EventType.SOURCE_SCAN_REQUESTED, lambda: scan_runs.source_scan_request(source=source))
    Project.objects.filter(pk=project.pk).update(gdrive_refresh_token="")
    walk.step(EventType.PROJECT_CHANGED, lambda: drive_oauth.disconnect(project=project))
    assert walk.events[-1].extra_data == {"fields": ["google_drive"], "google_drive": "disconnected"}

    # The composer: a media upload, a thread, its edit, a duplicate, a delete.
    settings.PUBLISHING_LOCAL_ROOTS = [tmp_path / "media"]
    (tmp_path / "media" / str(owner.pk)).mkdir(parents=True)
    path, _kind = walk.step(
        EventType.MEDIA_UPLOADED,
        lambda: uploads.media_save(owner_id=owner.pk, upload=io.BytesIO(png_bytes(3)), size=len(png_bytes(3))),
    )
    assert walk.events[-1].extra_data["kind"] == "image"
    thread = [
        composer.PostIn(text=POST_TEXT, media=[{"path": path, "alt_text": ALT_TEXT}]),
        composer.PostIn(text=POST_TEXT + " 2"),
    ]
    post = walk.step(EventType.TASK_CREATED, lambda: composer.post_create(project=project, posts=thread))
    assert walk.events[-1].extra_data == {"project_id": project.pk, "posts": 2}
    walk.step(
        EventType.TASK_CHANGED,
        lambda: composer.post_update(task=post, posts=[thread[0], composer.PostIn(text=NEW_POST_TEXT)]),
    )
    assert walk.events[-1].extra_data["fields"] == ["replies"]
    copy = walk.step(EventType.TASK_CREATED, lambda: composer.post_duplicate(task=post))
    assert walk.events[-1].extra_data["copied_from"] == post.pk
    walk.step(EventType.TASK_DELETED, lambda: composer.post_delete(task=copy))
    assert walk.events[-1].object_id == str(copy.pk)

    raw = _raw_rows()
    for secret in walk.secrets:
        assert secret not in raw, f"an audit row holds a secret: {secret[:12]}…"
    assert all(event.user_id == owner.pk for event in walk.events)


def test_the_owner_contacts_write_one_event_each_and_no_address_or_code(owner, settings, mailoutbox):
    """Contacts for warnings (messaging.owner_contacts): add, new code, verify, change, test, remove,
    and a Telegram contact verified by the bot; no row holds the address, a code or a link's token."""
    settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_BOT_NAME = "123:walk", "cradle_walk_bot"
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"  # the bot's courtesy replies are refused at once
    walk = Walk()
    address = "secret-contact-93b1@example.org"
    walk.secrets.append(address)
    contact, _link = walk.step(
        EventType.OWNER_CONTACT_ADDED,
        lambda: owner_contacts.contact_add(owner=owner, kind="email", address=address, label="work"),
    )
    walk.step(EventType.OWNER_CONTACT_CODE_SENT, lambda: owner_contacts.contact_send_code(contact=contact))
    codes = [re.search(r"\b(\d{6})\b", m.body).group(1) for m in mailoutbox if m.to == [address]]
    walk.secrets += [f"'{code}'" for code in codes]  # quoted: six digits alone may be part of a time
    walk.step(EventType.OWNER_CONTACT_VERIFIED, lambda: owner_contacts.contact_verify(contact=contact, code=codes[-1]))
    walk.step(EventType.OWNER_CONTACT_CHANGED, lambda: owner_contacts.contact_update(contact=contact, first_level=1))
    assert walk.events[-1].extra_data["fields"] == ["first_level"]
    walk.step(EventType.TEST_WARNING_SENT, lambda: owner_notify.warning_test_send(owner=owner))
    walk.step(EventType.OWNER_CONTACT_REMOVED, lambda: owner_contacts.contact_remove(contact=contact))
    bot, link = walk.step(
        EventType.OWNER_CONTACT_ADDED, lambda: owner_contacts.contact_add(owner=owner, kind="telegram")
    )
    link = walk.step(EventType.OWNER_CONTACT_CODE_SENT, lambda: owner_contacts.telegram_token_new(bot))
    token = link.rsplit("=", 1)[-1]
    walk.secrets.append(token)
    walk.step(
        EventType.OWNER_CONTACT_VERIFIED,
        lambda: owner_contacts.contact_verify_telegram(token=token, chat_id="777000111"),
    )
    walk.secrets.append("777000111")
    raw = _raw_rows()
    for secret in walk.secrets:
        assert secret not in raw, f"an audit row holds a secret: {secret[:12]}…"
    assert all(event.user_id == owner.pk for event in walk.events)


FILE_NAME = "SECRET-FILE-6b2e letters to Tom.pdf"


def _delivered_with_link(owner, *, sent_at) -> tuple[Delivery, str]:
    """``owner``'s message delivered to one recipient at ``sent_at``, and the token of its link."""
    message, _key = services.message_create(
        owner=owner, content=CONTENT, initial_delay_months=1, recipients=[{"name": "Rae", "contact": CONTACT}]
    )
    Message.objects.filter(pk=message.pk).update(state=Message.State.DELIVERED, is_active=False, delivered_at=sent_at)
    sent = Delivery.objects.create(
        message=message, recipient=message.recipients.get(), state=Delivery.State.SENT, delivered_at=sent_at
    )
    link, token = delivery_links.link_create(delivery=sent, reason=DeliveryLink.Reason.DELIVERED, now=sent_at)
    delivery_links.link_delivered(link=link, sent_at=sent_at)
    return sent, token


def test_the_recipients_side_writes_one_event_each_and_no_token_or_file_name(owner, staff, settings, mailoutbox):
    """Attachments added, removed and purged; a recipient's page first opened and a new link asked
    for there; staff's re-send: one event each, as the owner's, by the right actor, and no row
    holds a link's token, a file's name or its key."""
    walk = Walk()
    walk.secrets.append(FILE_NAME)
    message, _key = services.message_create(
        owner=owner, content=CONTENT, initial_delay_months=1, recipients=[{"name": "Rae", "contact": CONTACT}]
    )
    added = walk.step(
        EventType.ATTACHMENT_ADDED,
        lambda: attachments.attachment_add(message=message, stream=io.BytesIO(b"%PDF-1.4 x"), name=FILE_NAME),
    )
    assert walk.events[-1].extra_data == {"message_id": message.pk, "bytes": 10, "mime": "application/pdf"}
    walk.secrets.append(Attachment.objects.get(pk=added.pk).wrapped_key)
    added_id = added.pk
    walk.step(EventType.ATTACHMENT_REMOVED, lambda: attachments.attachment_delete(attachment=added))
    assert walk.events[-1].object_id == str(added_id)

    long_ago = timezone.now() - timedelta(days=settings.MESSAGING_DELIVERY_LINK_DAYS + 1)
    sent, expired = _delivered_with_link(owner, sent_at=long_ago)
    walk.secrets.append(expired)
    DeliveryLink.objects.filter(delivery=sent).update(expires_at=timezone.now() + timedelta(days=1))
    recipient = Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="RecipientBrowser/1")
    walk.step(
        EventType.DELIVERY_LINK_OPENED,
        lambda: recipient.get(reverse("delivery_page", args=[expired])),
        actor_kind=ActorKind.RECIPIENT,
    )
    assert walk.events[-1].ip == "203.0.113.9" and walk.events[-1].extra_data["recipient_id"] == sent.recipient_id
    recipient.get(reverse("delivery_page", args=[expired]))  # opened again: no new event (the walk would fail)
    DeliveryLink.objects.filter(delivery=sent).update(expires_at=long_ago)
    walk.step(
        EventType.DELIVERY_LINK_SENT,
        lambda: recipient.post(reverse("delivery_renew", args=[expired])),
        actor_kind=ActorKind.RECIPIENT,
    )
    assert walk.events[-1].extra_data["reason"] == DeliveryLink.Reason.RENEWED
    DeliveryLink.objects.filter(delivery=sent).update(created_at=long_ago)  # past the re-send limit
    walk.step(
        EventType.DELIVERY_LINK_SENT,
        lambda: delivery_links.link_resend(delivery=sent, user=staff),
        actor_kind=ActorKind.STAFF,
    )
    walk.secrets += [re.search(r"/d/([A-Za-z0-9_-]+)/", m.body).group(1) for m in mailoutbox]

    kept = attachments.attachment_add(message=message, stream=io.BytesIO(b"%PDF-1.4 y"), name=FILE_NAME)
    walk.events.append(AuditEvent.objects.order_by("-id").first())
    Message.objects.filter(pk=message.pk).update(
        state=Message.State.DELIVERED, delivered_at=long_ago, attachments_keep_days=1
    )
    walk.step(EventType.ATTACHMENT_REMOVED, attachments.attachments_purge, actor_kind=ActorKind.JOB)
    assert walk.events[-1].object_id == str(kept.pk) and walk.events[-1].actor_label == "purge_attachments"
    raw = _raw_rows()
    for secret in walk.secrets:
        assert secret not in raw, f"an audit row holds a secret: {secret[:12]}…"
    assert all(event.user_id == owner.pk for event in walk.events)


def test_you_are_named_writes_one_event_for_the_owners_ask_and_one_for_the_confirmation(owner, mailoutbox):
    """The notice's queueing is part of the message's own event; the send job writes none; the
    owner's "ask again" and the recipient's confirmation one each, with no token or address."""
    walk = Walk()
    message = walk.step(
        EventType.MESSAGE_CREATED,
        lambda: services.message_create(
            owner=owner,
            content=CONTENT,
            initial_delay_months=1,
            recipients=[{"name": "Rae", "contact": CONTACT, "tell_named": False}],
        )[0],
    )
    rae = message.recipients.get()
    notice = walk.step(EventType.NAMED_NOTICE_RESENT, lambda: named.named_notice_resend(recipient=rae))
    assert walk.events[-1].extra_data == {"message_id": message.pk, "recipient_id": rae.pk}
    before = AuditEvent.objects.count()
    named_notices_send()
    assert AuditEvent.objects.count() == before  # the job's send is no operation of anyone's
    token = re.search(r"/messages/named/([A-Za-z0-9_-]+)/", mailoutbox[-1].body).group(1)
    walk.secrets.append(token)
    walk.step(
        EventType.NAMED_NOTICE_CONFIRMED,
        lambda: Client().post(reverse("messaging:named_confirm", args=[token])),
        actor_kind=ActorKind.RECIPIENT,
    )
    assert walk.events[-1].object_id == str(notice.pk)
    raw = _raw_rows()
    for secret in walk.secrets:
        assert secret not in raw, f"an audit row holds a secret: {secret[:12]}…"
    assert all(event.user_id == owner.pk for event in walk.events)


@pytest.mark.django_db(transaction=True)
def test_a_backup_writes_one_event_as_the_job_and_no_secret(owner, settings, tmp_path):
    """The walk's ops step, in a committed database: a backup reads committed data only, so
    it cannot run inside the test's transaction (``backup_create`` refuses that, below)."""
    settings.BACKUP_DIR = tmp_path / "backups"
    walk = Walk()
    _message, key = services.message_create(
        owner=owner,
        title=TITLE,
        content=CONTENT,
        initial_delay_months=1,
        recipients=[{"name": "R", "contact": CONTACT}],
    )
    walk.secrets.append(key)
    with acting_as_job("ops.backup"):
        path = walk.step(
            EventType.BACKUP_MADE,
            lambda: backup_create(directory=tmp_path / "b", progress=lambda line: None),
            actor_kind=ActorKind.JOB,
        )
    event = walk.events[-1]
    assert event.actor_label == "ops.backup" and event.user_id is None and event.object_label == path.name
    raw = _raw_rows()
    for secret in walk.secrets:
        assert secret not in raw, f"an audit row holds a secret: {secret[:12]}…"

    # Inside a transaction it is refused at once (on SQLite it used to wait forever), and no event is left.
    count = AuditEvent.objects.count()
    with pytest.raises(BackupError, match="inside a database transaction"), transaction.atomic():
        backup_create(directory=tmp_path / "b", progress=lambda line: None)
    assert AuditEvent.objects.count() == count


OUR_APPS = {"accounts", "messaging", "publishing", "analytics", "ops", "cradle_site"}
# Every custom admin action, with the event it must write for one selected row.
ADMIN_ACTIONS = {
    ("messaging.Message", "reset_messages"): EventType.MESSAGE_RESET,
    ("messaging.Message", "revoke_messages"): EventType.MESSAGE_REVOKED,
    ("messaging.Message", "retry_deliveries"): EventType.DELIVERY_RETRIED,
    ("messaging.Delivery", "retry"): EventType.DELIVERY_RETRIED,
    ("messaging.Delivery", "resend_links"): EventType.DELIVERY_LINK_SENT,
    ("publishing.ContentSource", "rescan"): EventType.SOURCE_SCAN_REQUESTED,
    ("publishing.PublishingTask", "retry"): EventType.TASK_RETRIED,
    ("publishing.PublishingTask", "cancel"): EventType.TASK_CHANGED,
    ("publishing.PublishingTask", "post_anyway"): EventType.TASK_CHANGED,
    ("publishing.PublishingTask", "mark_posted"): EventType.TASK_CHANGED,
    ("accounts.ApiKey", "revoke"): EventType.API_KEY_REVOKED,
    ("messaging.Pause", "end_pauses"): EventType.PAUSE_ENDED,
    ("messaging.AccessRequest", "refuse_requests"): EventType.ACCESS_REFUSED,
}


def test_the_walk_knows_every_admin_action():
    from django.contrib import admin

    found = {
        (model._meta.label, name)
        for model, model_admin in admin.site._registry.items()
        for name in (model_admin.actions or [])
        # django_q's "resubmit" re-queues a job, no user's data: not an operation the log records.
        if name != "delete_selected" and model._meta.app_label in OUR_APPS
    }
    assert found == set(ADMIN_ACTIONS), "an admin action is missing from ADMIN_ACTIONS, or gone"


def _admin_rows(owner) -> dict:
    """One row per action, in the state the action acts on."""
    message, _key = services.message_create(
        owner=owner, content=CONTENT, initial_delay_months=1, recipients=[{"name": "R", "contact": CONTACT}]
    )
    delivering, _key = services.message_create(
        owner=owner, content=CONTENT, initial_delay_months=1, recipients=[{"name": "R", "contact": CONTACT}]
    )
    Message.objects.filter(pk=delivering.pk).update(state=Message.State.DELIVERING, is_active=False)
    recipient = delivering.recipients.get()
    failed = Delivery.objects.create(message=delivering, recipient=recipient, state=Delivery.State.FAILED)
    project = publishing.project_create(owner=owner, name="Dogs")
    source = publishing.source_create(
        project=project, source_type="rss_feed", path_or_identifier="https://feeds.example.org/dogs.xml"
    )
    later = timezone.now() + timedelta(days=1)
    pending = publishing.task_create(project=project, text="pending", scheduled_at=later)
    cancelled = publishing.task_cancel(
        task=publishing.task_create(project=project, text="cancelled", scheduled_at=later)
    )
    held = [publishing.task_create(project=project, text=f"held {n}", scheduled_at=later) for n in range(2)]
    PublishingTask.objects.filter(pk__in=[t.pk for t in held]).update(status=PublishingTask.Status.HELD)
    key = apikey_create(user=owner, name="k", permissions=["messages:read"]).api_key
    pause = pauses.pause_start(owner=owner, until=timezone.now() + timedelta(days=3), message=message)
    sent, _token = _delivered_with_link(owner, sent_at=timezone.now() - timedelta(days=1))
    trusted.trusted_access_set(message=delivering, mode="recipients")
    waiting = trusted.trusted_contact_add(owner=owner, name="Tess", email="tess@example.net", wait_days=3)
    access = AccessRequest.objects.create(
        owner=owner, contact=waiting, requested_at=timezone.now(), grant_at=timezone.now() + timedelta(days=3)
    )
    return {
        ("messaging.AccessRequest", "refuse_requests"): access,
        ("messaging.Message", "reset_messages"): message,
        ("messaging.Message", "revoke_messages"): message,
        ("messaging.Message", "retry_deliveries"): delivering,
        ("messaging.Delivery", "retry"): failed,
        ("messaging.Delivery", "resend_links"): sent,
        ("publishing.ContentSource", "rescan"): source,
        ("publishing.PublishingTask", "retry"): cancelled,
        ("publishing.PublishingTask", "cancel"): pending,
        ("publishing.PublishingTask", "post_anyway"): held[0],
        ("publishing.PublishingTask", "mark_posted"): held[1],
        ("accounts.ApiKey", "revoke"): key,
        ("messaging.Pause", "end_pauses"): pause,
    }


def test_the_admin_actions_write_one_event_each_by_the_staff_member(client, owner, staff):
    rows = _admin_rows(owner)
    project = publishing.project_create(owner=owner, name="Ducks")  # nothing in it: staff may delete it
    client.force_login(staff)
    walk = Walk()

    def action(label: str, name: str, pk: int):
        changelist = reverse(f"admin:{label.replace('.', '_').lower()}_changelist")
        return lambda: client.post(
            changelist, {"action": name, "_selected_action": [pk], "index": "0", "confirmed": "yes"}
        )

    for (label, name), expected in ADMIN_ACTIONS.items():
        if (label, name) == ("messaging.Delivery", "retry"):
            Delivery.objects.filter(pk=rows[(label, name)].pk).update(state=Delivery.State.FAILED)
        walk.step(expected, action(label, name, rows[(label, name)].pk))
    change = reverse("admin:publishing_project_change", args=[project.pk])
    form = client.get(change).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and not isinstance(value, list)}
    data |= {"name": "Ducks weekly", "slot_times": "[]"}
    walk.step(EventType.STAFF_CHANGED_DATA, lambda: client.post(change, data))
    delete = reverse("admin:publishing_project_delete", args=[project.pk])
    walk.step(EventType.STAFF_CHANGED_DATA, lambda: client.post(delete, {"post": "yes"}))
    assert walk.events[-1].extra_data["action"] == "deleted"
    for event in walk.events:
        assert event.user_id == owner.pk and event.actor_id == staff.pk
        assert event.actor_kind == ActorKind.STAFF and event.actor_label == "staff"
    assert CONTACT not in _raw_rows() and CONTENT not in _raw_rows()


def test_the_event_is_in_the_operations_transaction(owner):
    """A change that rolls back leaves no event claiming it happened (accounts' signal included)."""

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        publishing.project_create(owner=owner, name="Gone")
        apikey_create(user=owner, name="gone", permissions=["messages:read"])
        assert AuditEvent.objects.filter(user=owner).count() == 2
        raise Boom
    assert not AuditEvent.objects.filter(user=owner).exists()


def test_an_api_key_call_is_recorded_as_the_key(owner, api_client_for):
    api = api_client_for(owner, ["publishing:write", "publishing:read"])
    key = owner.api_keys.get()
    response = api.post(reverse("api:publishing_projects"), {"name": "From a script"}, format="json")
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(user=owner, event_type=EventType.PROJECT_CREATED)
    assert event.actor_kind == ActorKind.API_KEY and event.actor_label == f"crd_{key.prefix}"
    assert event.actor_id == owner.pk


def test_a_staff_member_signed_in_on_a_page_acting_on_anothers_row_is_staff(owner, staff, client):
    """The recorder, not the caller, decides "staff": a signed-in person acting on someone else's data."""
    give_totp(owner)
    message, _key = services.message_create(
        owner=owner, content=CONTENT, initial_delay_months=1, recipients=[{"name": "R", "contact": CONTACT}]
    )
    from cradle_site.audit_vocabulary import AuditActor, acting_as

    with acting_as(AuditActor(ActorKind.USER, user_id=staff.pk, label="staff")):
        services.message_revoke(message=message)
    event = AuditEvent.objects.get(event_type=EventType.MESSAGE_REVOKED)
    assert event.actor_kind == ActorKind.STAFF and event.user_id == owner.pk


def test_no_task_row_is_touched_by_the_walk_beyond_its_own(owner):
    # The walk's task events name the task by id and the project in extra_data, never the text.
    project = publishing.project_create(owner=owner, name="P")
    task = publishing.task_create(project=project, text=CONTENT[:50], scheduled_at=timezone.now() + timedelta(days=1))
    event = AuditEvent.objects.get(event_type=EventType.TASK_CREATED)
    assert event.object_id == str(task.pk) and event.extra_data == {"project_id": project.pk}
    assert PublishingTask.objects.count() == 1 and CONTENT[:50] not in _raw_rows()


TRUSTED_EMAIL = "secret-trusted-3c1d@example.org"


def test_trusted_contacts_write_one_event_each_and_no_address_or_token(owner, mailoutbox):
    """Named, confirmed, the per-message choice, a request, a refusal, a grant by the job, the one
    pause, removal: one event each, as the owner's, by the right actor; no row holds the contact's
    address or their page's token."""
    walk = Walk()
    walk.secrets.append(TRUSTED_EMAIL)
    message, _key = services.message_create(
        owner=owner, content=CONTENT, initial_delay_months=1, recipients=[{"name": "Rae", "contact": CONTACT}]
    )
    walk.step(EventType.TRUSTED_ACCESS_CHANGED, lambda: trusted.trusted_access_set(message=message, mode="recipients"))
    contact = walk.step(
        EventType.TRUSTED_CONTACT_ADDED,
        lambda: trusted.trusted_contact_add(owner=owner, name="Tess", email=TRUSTED_EMAIL, wait_days=2),
    )
    token = re.search(r"/t/([A-Za-z0-9_-]+)/", mailoutbox[-1].body).group(1)
    walk.secrets += [token, TrustedContact.objects.get(pk=contact.pk).token_hash]
    page = Client(REMOTE_ADDR="203.0.113.20")
    walk.step(
        EventType.TRUSTED_CONTACT_VERIFIED,
        lambda: page.post(reverse("trusted_page", args=[token])),
        actor_kind=ActorKind.TRUSTED_CONTACT,
    )
    contact.refresh_from_db()
    first = walk.step(
        EventType.ACCESS_REQUESTED,
        lambda: trusted.access_request(contact=contact),
        actor_kind=ActorKind.TRUSTED_CONTACT,
    )
    walk.step(EventType.ACCESS_REFUSED, lambda: trusted.access_refuse(request=first))
    second = trusted.access_request(contact=contact)
    walk.events.append(AuditEvent.objects.order_by("-id").first())
    walk.step(
        EventType.ACCESS_GRANTED,
        lambda: trusted.access_grants_due(now=second.grant_at),
        actor_kind=ActorKind.JOB,
    )
    services.message_create(
        owner=owner, content=CONTENT, initial_delay_months=1, recipients=[{"name": "Rae", "contact": CONTACT}]
    )
    walk.events.append(AuditEvent.objects.order_by("-id").first())
    walk.step(
        EventType.MESSAGE_PAUSED,
        lambda: page.post(reverse("trusted_pause", args=[token])),
        actor_kind=ActorKind.TRUSTED_CONTACT,
    )
    walk.step(EventType.TRUSTED_CONTACT_REMOVED, lambda: trusted.trusted_contact_remove(contact=contact))
    raw = _raw_rows()
    for secret in walk.secrets:
        assert secret not in raw, f"an audit row holds a secret: {secret[:12]}…"
    assert all(event.user_id == owner.pk for event in walk.events)
