"""Attachments: encrypted at rest in chunks, limited, sniffed, served as downloads only, purged, owner-only."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from messaging import attachment_crypto, attachments, services
from messaging.attachment_crypto import CHUNK_BYTES, AttachmentDamaged, EncryptingReader, decrypt_chunks
from messaging.models import Attachment, Message
from tests.clock import NOW
from tests.messaging.recipient_side import deliver_now, token_sent_to

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
SECRET = b"the attached secret " * 10


def _encrypt(data: bytes, key: bytes) -> bytes:
    reader = EncryptingReader(io.BytesIO(data), key)
    out = bytearray()
    while piece := reader.read(10_000):
        out += piece
    return bytes(out)


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 7])
def test_a_file_of_any_size_comes_back_byte_for_byte(size):
    data = os.urandom(size)
    key = attachment_crypto.new_file_key()
    sealed = _encrypt(data, key)
    assert b"".join(decrypt_chunks(io.BytesIO(sealed), key)) == data


def test_a_changed_moved_or_cut_file_does_not_decrypt():
    key = attachment_crypto.new_file_key()
    sealed = _encrypt(os.urandom(3 * CHUNK_BYTES), key)
    head, frame = attachment_crypto.HEADER_BYTES, attachment_crypto.FRAME_BYTES
    flipped = bytearray(sealed)
    flipped[head + 5] ^= 1
    frames = [sealed[head + i * frame : head + (i + 1) * frame] for i in range(4)]
    swapped = sealed[:head] + frames[1] + frames[0] + frames[2] + frames[3]
    cut = sealed[: head + 2 * frame]  # ends on a frame boundary: only the last-frame flag can tell
    for damaged in (bytes(flipped), swapped, cut, b"not an attachment"):
        with pytest.raises(AttachmentDamaged):
            b"".join(decrypt_chunks(io.BytesIO(damaged), key))
    with pytest.raises(AttachmentDamaged):
        b"".join(decrypt_chunks(io.BytesIO(sealed), attachment_crypto.new_file_key()))


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _stored_path(attachment: Attachment) -> Path:
    return Path(django_settings.MESSAGING_ATTACHMENT_DIR) / attachment.storage_name


def test_an_upload_on_the_page_is_stored_encrypted_and_downloaded_by_the_owner(owner_client, owner, make_message):
    message = make_message(owner)
    upload = SimpleUploadedFile("../../plan.txt", SECRET, content_type="text/html")
    response = owner_client.post(reverse("messaging:attachment_upload", args=[message.pk]), {"file": upload})
    assert response.status_code == 302
    [attachment] = message.attachments.all()
    assert attachment.name == "plan.txt" and attachment.size == len(SECRET)
    assert attachment.content_type == "application/octet-stream", "the client's type is never believed"
    stored = _stored_path(attachment).read_bytes()
    assert SECRET[:20] not in stored and stored.startswith(attachment_crypto.MAGIC)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, wrapped_key FROM messaging_attachment WHERE id = %s", [attachment.pk])
        name, wrapped = cursor.fetchone()
    assert "plan.txt" not in name and attachment.wrapped_key not in wrapped, "name and key encrypted at rest"
    detail = owner_client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "plan.txt" in detail
    download = owner_client.get(reverse("messaging:attachment_download", args=[message.pk, attachment.pk]))
    assert b"".join(download.streaming_content) == SECRET
    assert download["Content-Disposition"] == 'attachment; filename="plan.txt"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (b"<html><script>alert(1)</script></html>", "application/octet-stream"),
        (b"%PDF-1.4\n", "application/pdf"),
    ],
)
def test_the_content_type_is_sniffed_and_never_html(owner, make_message, data, expected):
    attachment = attachments.attachment_add(message=make_message(owner), stream=io.BytesIO(data), name="x.html")
    assert attachment.content_type == expected
    assert attachments.attachment_response(attachment)["Content-Disposition"].startswith("attachment;")


def test_a_file_over_the_limit_is_refused_whatever_size_it_declared(owner, make_message, settings):
    settings.MESSAGING_ATTACHMENT_MAX_MB = 1
    message = make_message(owner)
    too_big = b"x" * (1024 * 1024 + 1)
    with pytest.raises(services.ValidationError) as declared:
        attachments.attachment_add(message=message, stream=io.BytesIO(too_big), name="a", size=len(too_big))
    assert "file" in declared.value.message_dict
    with pytest.raises(services.ValidationError):
        attachments.attachment_add(message=message, stream=io.BytesIO(too_big), name="a", size=10)
    assert not message.attachments.exists()
    folder = Path(settings.MESSAGING_ATTACHMENT_DIR) / str(message.pk)
    assert not folder.exists() or not any(folder.iterdir()), "nothing of a refused file stays behind"


def test_the_total_per_message_is_limited(owner, make_message, settings):
    settings.MESSAGING_ATTACHMENT_MAX_MB = 1
    settings.MESSAGING_ATTACHMENTS_MAX_MB = 2
    message = make_message(owner)
    one_mb = b"y" * (1024 * 1024)
    attachments.attachment_add(message=message, stream=io.BytesIO(one_mb), name="a")
    attachments.attachment_add(message=message, stream=io.BytesIO(one_mb), name="b")
    with pytest.raises(services.ValidationError):
        attachments.attachment_add(message=message, stream=io.BytesIO(b"z"), name="c")
    assert message.attachments.count() == 2


def test_a_delivered_message_takes_no_new_files(owner, make_message):
    message = make_message(owner)
    deliver_now(message)
    with pytest.raises(services.StateError):
        attachments.attachment_add(message=Message.objects.get(pk=message.pk), stream=io.BytesIO(b"x"), name="a")


def test_the_recipient_downloads_from_their_page(client, owner, make_message):
    message = make_message(owner)
    attachment = attachments.attachment_add(message=message, stream=io.BytesIO(SECRET), name="plan.txt")
    deliver_now(message)
    token = token_sent_to("rae@example.com")
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("delivery_page", args=[token])).content.decode()
        download = client.get(reverse("delivery_file", args=[token, attachment.pk]))
    assert "plan.txt" in page and reverse("delivery_file", args=[token, attachment.pk]) in page
    assert b"".join(download.streaming_content) == SECRET
    assert download["Content-Disposition"].startswith("attachment;") and download["X-Content-Type-Options"] == "nosniff"


def test_an_outsider_sees_downloads_and_opens_nothing_of_another_users_files(
    client, owner, other_user, make_message, api_client_for
):
    mine = make_message(owner)
    attachment = attachments.attachment_add(message=mine, stream=io.BytesIO(SECRET), name="plan.txt")
    theirs = make_message(
        other_user, recipients=[{"name": "Sam", "contact": "sam@example.com", "contact_type": "email"}]
    )
    deliver_now(theirs)
    client.force_login(other_user)
    args = [mine.pk, attachment.pk]
    assert client.get(reverse("messaging:attachment_download", args=args)).status_code == 404
    assert client.post(reverse("messaging:attachment_remove", args=args)).status_code == 404
    upload = SimpleUploadedFile("x.txt", b"x")
    assert client.post(reverse("messaging:attachment_upload", args=[mine.pk]), {"file": upload}).status_code == 404
    # Their own delivery link with the id of my file: a 404, not my file.
    token = token_sent_to("sam@example.com")
    with time_machine.travel(NOW, tick=False):
        assert client.get(reverse("delivery_file", args=[token, attachment.pk])).status_code == 404
    api = api_client_for(other_user, ["messages:read", "messages:write"])
    assert api.get(f"/api/v1/messages/{mine.pk}/attachments").status_code == 404
    assert api.get(f"/api/v1/messages/{mine.pk}/attachments/{attachment.pk}").status_code == 404
    assert api.delete(f"/api/v1/messages/{mine.pk}/attachments/{attachment.pk}").status_code == 404
    posted = api.post(f"/api/v1/messages/{mine.pk}/attachments", {"file": io.BytesIO(b"x")}, format="multipart")
    assert posted.status_code == 404
    assert Attachment.objects.filter(message=mine).count() == 1


def test_the_api_uploads_lists_and_removes(owner, make_message, api_client_for):
    message = make_message(owner)
    api = api_client_for(owner, ["messages:read", "messages:write"])
    url = f"/api/v1/messages/{message.pk}/attachments"
    upload = SimpleUploadedFile("pic.png", PNG)
    created = api.post(url, {"file": upload}, format="multipart")
    assert created.status_code == 201, created.content
    assert created.json()["content_type"] == "image/png" and created.json()["size"] == len(PNG)
    missing = api.post(url, {"other": "x"}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.content.decode()
    listed = api.get(url).json()
    assert [item["name"] for item in listed] == ["pic.png"]
    assert api.delete(f"{url}/{created.json()['id']}").status_code == 204
    assert not message.attachments.exists()


def test_deleting_the_message_deletes_the_stored_bytes(owner, make_message, django_capture_on_commit_callbacks):
    message = make_message(owner)
    attachment = attachments.attachment_add(message=message, stream=io.BytesIO(SECRET), name="a")
    path = _stored_path(attachment)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        Message.objects.filter(pk=message.pk).delete()
    assert not path.exists() and not Attachment.objects.exists()


def test_the_files_go_n_days_after_delivery_when_the_owner_chose_so(
    owner, make_message, django_capture_on_commit_callbacks
):
    kept = make_message(owner)
    purged = make_message(owner, attachments_keep_days=3)
    for message in (kept, purged):
        attachments.attachment_add(message=message, stream=io.BytesIO(SECRET), name="a")
        deliver_now(message)
    path = _stored_path(purged.attachments.get())
    with time_machine.travel(NOW + timedelta(days=3) - timedelta(minutes=1), tick=False):
        assert attachments.attachments_purge() == 0
    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(NOW + timedelta(days=3), tick=False):
        assert attachments.attachments_purge() == 1
        assert attachments.attachments_purge() == 0, "run twice, the second finds nothing"
    assert not path.exists() and not purged.attachments.exists() and kept.attachments.count() == 1
