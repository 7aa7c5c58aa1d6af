"""Sealed messages: Cradle stores and sends only what the owner's browser encrypted.

The browser's part (seal.js) is played by ``tests.messaging.sealing``, an independent Python
implementation of the formats; the browser test (tests/browser/test_sealed_journey.py) runs the
real script. Here: the validator refuses anything that is not an envelope, and after a sealed
message has gone all the way to delivery, neither its text, nor its file, nor the file's name,
nor the passphrase is in any row of the database (read raw with a cursor, and every Fernet
token in it decrypted with the site's keys: what the operator could read), in a backup
(decrypted), in a log record or in an e-mail. The same scan finds an unsealed message's text,
so it is not blind.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from cryptography.fernet import InvalidToken
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cradle_site import crypto
from messaging import attachments, sealed, services
from messaging.delivery_notice import delivery_notice_payload, delivery_notice_sms
from messaging.models import Attachment, Message
from ops.backup import backup_create
from ops.sealed import unseal
from tests.messaging.page_forms import HOOK, RAE, message_form
from tests.messaging.recipient_side import deliver_now, token_sent_to
from tests.messaging.sealing import envelope, envelope_open, open_file, seal_file

PASSPHRASE = "correct horse battery staple"
TEXT = "The deeds are in the blue box under the stairs."
FILE_TEXT = b"%PDF-1.4 account numbers: 4242-4242"
FILE_NAME = "bank-accounts-for-rae.pdf"
HINT = "the name of our first dog"
CONTROL = "An unsealed text the scan must find."
FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_=-]{40,}")


def _opened(text: str) -> list[str]:
    """Every Fernet token in ``text`` decrypted with the site's keys (what the operator can read)."""
    out = []
    for token in FERNET_TOKEN.findall(text):
        try:
            out.append(crypto.decrypt(token))
        except (InvalidToken, ValueError, UnicodeDecodeError):
            continue
    return out


def _as_text(value) -> str | None:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def database_texts() -> list[str]:
    """Every text value of every table, raw from the cursor, plus what its Fernet tokens and sessions hold."""
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (names from the schema)
            for row in cursor.fetchall():
                for value in map(_as_text, row):
                    if value is None:
                        continue
                    out.append(value)
                    out.extend(_opened(value))
                    if table == "django_session":
                        try:
                            out.append(json.dumps(SessionStore().decode(value), default=str))
                        except Exception:  # noqa: BLE001 (not every column is the session data)
                            pass
    return out


def backup_texts(settings, tmp_path) -> str:
    """A fresh ``db_backup`` file, decrypted, with every Fernet token in it opened too."""
    settings.BACKUP_DIR = tmp_path / "backups"
    path = backup_create(progress=lambda line: None)
    plain = b"".join(unseal(path)).decode("utf-8", "replace")
    return "\n".join([plain, *_opened(plain)])


def _secrets_absent(haystacks: list[str], where: str) -> None:
    for secret in (TEXT, FILE_TEXT.decode(), FILE_NAME, PASSPHRASE):
        found = [h for h in haystacks if secret in h]
        assert not found, f"{secret!r} is in {where}"


def _sealed_post(**extra) -> dict:
    return message_form(content="", sealed="on", seal_hint=HINT, seal_envelope=envelope(PASSPHRASE, TEXT), **extra)


# --- the validator ----------------------------------------------------------------------------


def test_it_takes_a_well_formed_envelope_and_gives_it_back_canonical():
    raw = envelope(PASSPHRASE, TEXT)
    checked = sealed.envelope_validate(raw)
    assert json.loads(checked) == json.loads(raw) and envelope_open(PASSPHRASE, checked) == TEXT


_BASE_SALT = bytes(range(16))
_BAD = [
    TEXT,
    "",
    "{}",
    "[1, 2]",
    json.dumps({"text": TEXT}),
    {"iter": 100_000},
    {"iter": True},
    {"iter": "600000"},
    {"iter": 10**9},
    {"v": 2},
    {"kdf": "scrypt"},
    {"salt": "AAAAAAAAAAA="},  # 8 bytes
    {"iv": "AAAAAAAAAAAAAAAAAAAAAA=="},  # 16 bytes
    {"ct": ""},
    {"ct": "AAAAAAAAAAAAAAAAAAAAAA=="},  # a tag alone: no text at all
    {"ct": "not base64!"},
    {"extra": "x"},
    "too long",
]


@pytest.mark.parametrize("bad", _BAD, ids=[str(b)[:20] for b in _BAD])
def test_it_refuses_anything_that_is_not_an_envelope_on_the_field(bad):
    if bad == "too long":
        raw = envelope(PASSPHRASE, "x" * (sealed.TEXT_MAX_BYTES + 1), with_salt=_BASE_SALT)
    elif isinstance(bad, dict):
        raw = envelope(PASSPHRASE, TEXT, with_salt=_BASE_SALT, **bad)
    else:
        raw = bad
    with pytest.raises(ValidationError) as caught:
        sealed.envelope_validate(raw)
    assert list(caught.value.message_dict) == ["content"]


# --- the pages ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_never_names_the_passphrase_inputs(client, owner):
    client.force_login(owner)
    page = client.get(reverse("messaging:message_create")).content.decode()
    inputs = re.findall(r"<input[^>]*type=\"password\"[^>]*>", page)
    assert len(inputs) == 2 and not any("name=" in tag for tag in inputs)
    assert "cannot be recovered by anyone" in page and "messaging/seal.js" in page


@pytest.mark.django_db
def test_without_javascript_a_plain_text_is_never_saved_as_sealed(client, owner):
    client.force_login(owner)
    response = client.post(reverse("messaging:message_create"), message_form(content=TEXT, sealed="on", seal_hint=HINT))
    assert response.status_code == 200 and "needs JavaScript" in response.content.decode()
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_sealed_message_is_saved_as_its_envelope_and_never_put_in_the_e_mail(client, owner):
    client.force_login(owner)
    response = client.post(reverse("messaging:message_create"), _sealed_post(include_text_in_notice="on"))
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.sealed and message.seal_hint == HINT and not message.include_text_in_notice
    assert envelope_open(PASSPHRASE, message.content) == TEXT
    detail = client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "Sealed with a passphrase." in detail and HINT in detail and message.body.content[40:80] not in detail


@pytest.mark.django_db
def test_editing_a_sealed_message_needs_it_sealed_again(client, owner):
    client.force_login(owner)
    client.post(reverse("messaging:message_create"), _sealed_post())
    message = Message.objects.get()
    edit = reverse("messaging:message_edit", args=[message.pk])
    page = client.get(edit).content.decode()
    assert 'id="id_content"' in page and TEXT not in page
    assert "data-envelope=" in page and "&quot;ct&quot;" in page, "the page's script opens it with the passphrase"
    kept = {"recipients-INITIAL_FORMS": "1"}  # Rae as she was: the formset's initial row
    refused = client.post(edit, message_form(content="", sealed="on", seal_hint=HINT, **kept))
    assert refused.status_code == 200 and "needs JavaScript" in refused.content.decode()
    again = envelope(PASSPHRASE, TEXT + " And the key.")
    saved = client.post(edit, message_form(content="", sealed="on", seal_hint=HINT, seal_envelope=again, **kept))
    assert saved.status_code == 302
    assert envelope_open(PASSPHRASE, Message.objects.get().content) == TEXT + " And the key."


@pytest.mark.django_db
def test_a_plain_file_is_refused_for_a_sealed_message_and_a_sealed_one_keeps_its_name_hidden(client, owner):
    client.force_login(owner)
    client.post(reverse("messaging:message_create"), _sealed_post())
    message = Message.objects.get()
    upload = reverse("messaging:attachment_upload", args=[message.pk])
    client.post(upload, {"file": SimpleUploadedFile(FILE_NAME, FILE_TEXT)})
    assert not Attachment.objects.exists(), "a page without JavaScript sent the file as it is"
    data, name = seal_file(PASSPHRASE, FILE_TEXT, FILE_NAME)
    client.post(upload, {"file": SimpleUploadedFile("sealed.bin", data), "sealed_name": name})
    attachment = Attachment.objects.get()
    assert attachment.name == "attachment-1.sealed" and attachment.is_sealed
    assert attachment.content_type == "application/octet-stream"
    assert envelope_open(PASSPHRASE, attachment.sealed_name) == FILE_NAME
    assert open_file(PASSPHRASE, b"".join(attachments.attachment_chunks(attachment))) == FILE_TEXT


@pytest.mark.django_db
def test_a_message_with_files_is_not_sealed_or_unsealed_under_them(owner, make_message):
    message = make_message(owner)
    attachments.attachment_add(message=message, stream=__import__("io").BytesIO(b"plain"), name="a.txt")
    with pytest.raises(ValidationError) as caught:
        services.message_update(
            message=message, content=envelope(PASSPHRASE, TEXT), initial_delay_months=1, sealed=True, seal_hint=HINT
        )
    assert "sealed" in caught.value.message_dict


# --- the API -----------------------------------------------------------------------------------


def _fields(response) -> dict:
    return response.json()["error"]["fields"]


def _api_body(**extra) -> dict:
    return {
        "title": "For Rae",
        "initial_delay_months": 1,
        "recipients": [{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}],
        **extra,
    }


@pytest.mark.django_db
def test_the_api_refuses_plain_text_as_sealed_with_the_field(owner, api_client_for):
    api = api_client_for(owner, ["messages:read", "messages:write"])
    refused = api.post("/api/v1/messages/", _api_body(content=TEXT, sealed=True, seal_hint=HINT), format="json")
    assert refused.status_code == 400 and "content" in _fields(refused) and TEXT not in refused.content.decode()
    no_hint = api.post("/api/v1/messages/", _api_body(content=envelope(PASSPHRASE, TEXT), sealed=True), format="json")
    assert no_hint.status_code == 400 and "seal_hint" in _fields(no_hint)
    ok = api.post(
        "/api/v1/messages/",
        _api_body(content=envelope(PASSPHRASE, TEXT), sealed=True, seal_hint=HINT, include_text_in_notice=True),
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["sealed"] is True and ok.json()["include_text_in_notice"] is False
    message = Message.objects.get()
    files = f"/api/v1/messages/{message.pk}/attachments/"
    plain = api.post(files, {"file": SimpleUploadedFile(FILE_NAME, FILE_TEXT)}, format="multipart")
    assert plain.status_code == 400 and "file" in _fields(plain)
    assert not Attachment.objects.exists()
    data, name = seal_file(PASSPHRASE, FILE_TEXT, FILE_NAME)
    bad_name = api.post(files, {"file": SimpleUploadedFile("x", data), "sealed_name": FILE_NAME}, format="multipart")
    assert bad_name.status_code == 400 and "file" in _fields(bad_name), "a name in clear is not a sealed name"
    ok = api.post(files, {"file": SimpleUploadedFile("x", data), "sealed_name": name}, format="multipart")
    assert ok.status_code == 201 and ok.json()["sealed"] is True and ok.json()["name"] == "attachment-1.sealed"


# --- what the recipients receive ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_webhook_body_sms_and_preview_carry_the_hint_never_the_text(client, owner):
    client.force_login(owner)
    client.post(
        reverse("messaging:message_create"),
        _sealed_post(recipients=(RAE, HOOK)),
    )
    message = Message.objects.get()
    message.include_text_in_notice = True  # a row from before sealing existed, say: still never the text
    hook = message.recipients.get(contact_type="webhook")
    payload = delivery_notice_payload(message=message, recipient=hook)
    assert payload["sealed"] is True and payload["seal_hint"] == HINT and "content" not in payload
    sms = delivery_notice_sms(message=message)
    assert HINT in sms and message.content not in sms
    for recipient in message.recipients.all():
        preview = client.get(reverse("messaging:recipient_preview", args=[message.pk, recipient.pk]))
        text = preview.content.decode()
        assert HINT in text and "&quot;ct&quot;" not in text and '"ct"' not in text


@pytest.mark.django_db(transaction=True)
def test_nothing_of_a_sealed_message_is_in_the_database_backups_logs_or_mail(client, owner, settings, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(owner)
    client.post(reverse("messaging:message_create"), message_form(content=CONTROL, title="Unsealed"))
    client.post(reverse("messaging:message_create"), _sealed_post(title="Sealed", include_text_in_notice="on"))
    message = Message.objects.get(sealed=True)
    data, name = seal_file(PASSPHRASE, FILE_TEXT, FILE_NAME)
    upload = reverse("messaging:attachment_upload", args=[message.pk])
    client.post(upload, {"file": SimpleUploadedFile("sealed.bin", data), "sealed_name": name})
    assert Attachment.objects.filter(message=message).count() == 1

    deliver_now(message, at=timezone.now())
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    token = token_sent_to("rae@example.com")
    page = client.get(reverse("delivery_page", args=[token])).content.decode()
    assert HINT in page and 'id="sealed-box"' in page and TEXT not in page
    [file_id] = Attachment.objects.filter(message=message).values_list("pk", flat=True)
    got = b"".join(client.get(reverse("delivery_file", args=[token, file_id])).streaming_content)
    assert open_file(PASSPHRASE, got) == FILE_TEXT, "the recipient's browser gets the sealed bytes back whole"

    rows = database_texts()
    assert any(CONTROL in value for value in rows), "the scan opens the Fernet layer: an unsealed text is found"
    _secrets_absent(rows, "the database")
    backup = backup_texts(settings, tmp_path)
    assert CONTROL in backup
    _secrets_absent([backup], "the backup")
    logged = [r.getMessage() + " " + str(r.args) + " " + (r.exc_text or "") for r in caplog.records]
    logged += [text for line in logged for text in _opened(line)]
    _secrets_absent(logged, "the logs")
    sent = mail.outbox
    assert any(HINT in m.body for m in sent if m.to == ["rae@example.com"]), "the hint is delivered in clear"
    mails = [m.subject + m.body + "".join(body for body, _mime in m.alternatives) + str(m.extra_headers) for m in sent]
    _secrets_absent(mails, "an e-mail")
    assert not any(message.content in text for text in mails), "not even the envelope is mailed"


@pytest.mark.django_db
def test_the_admin_says_sealed_and_never_shows_the_ciphertext_as_text(client, owner, staff):
    client.force_login(owner)
    client.post(reverse("messaging:message_create"), _sealed_post())
    message = Message.objects.get()
    data, name = seal_file(PASSPHRASE, FILE_TEXT, FILE_NAME)
    client.post(
        reverse("messaging:attachment_upload", args=[message.pk]),
        {"file": SimpleUploadedFile("sealed.bin", data), "sealed_name": name},
    )
    client.force_login(staff)
    ct = json.loads(message.content)["ct"]
    listing = client.get(reverse("admin:messaging_message_changelist") + "?sealed__exact=1").content.decode()
    assert f"/admin/messaging/message/{message.pk}/change/" in listing
    page = client.get(reverse("admin:messaging_message_change", args=[message.pk])).content.decode()
    assert "Sealed" in page and "attachment-1.sealed" in page
    assert ct[:24] not in page and json.loads(name)["ct"][:24] not in page and HINT not in page


@pytest.mark.django_db
def test_a_sealed_name_does_not_make_a_plain_or_weakly_keyed_file_sealed(owner, make_message):
    import io
    import struct

    message = make_message(owner, content=envelope(PASSPHRASE, TEXT), sealed=True, seal_hint=HINT)
    data, name = seal_file(PASSPHRASE, FILE_TEXT, FILE_NAME)
    weak = data[:24] + struct.pack(">I", 1000) + data[28:]
    for stream in (FILE_TEXT, weak, data[:20]):
        with pytest.raises(ValidationError) as caught:
            attachments.attachment_add(message=message, stream=io.BytesIO(stream), name="x", sealed_name=name)
        assert list(caught.value.message_dict) == ["file"]
    assert not Attachment.objects.exists()
    attachments.attachment_add(message=message, stream=io.BytesIO(data), name="x", sealed_name=name)
    assert Attachment.objects.get().name == "attachment-1.sealed"
