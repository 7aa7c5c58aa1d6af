"""rotate_secrets re-encrypts every encrypted column under the newest key, in batches, and can run again."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from messaging.models import Message
from ops.rotation import encrypted_columns
from tests.messaging.test_encryption import raw

pytestmark = pytest.mark.django_db


def test_rotate_secrets_reencrypts_under_the_newest_key(owner, make_message, settings):
    old_key, new_key = settings.FERNET_KEYS[0], Fernet.generate_key().decode()
    messages = [make_message(owner, content=f"note {i}") for i in range(5)]
    settings.FERNET_KEYS = [new_key, old_key]
    err = io.StringIO()
    call_command("rotate_secrets", "--batch-size=2", stdout=io.StringIO(), stderr=err)
    assert "messaging.MessageBody.content: 5 re-encrypted" in err.getvalue()
    settings.FERNET_KEYS = [new_key]  # the old key is retired
    for i, message in enumerate(messages):
        Fernet(new_key).decrypt(raw("content", message.pk).encode())
        assert Message.objects.get(pk=message.pk).content == f"note {i}"
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out, stderr=io.StringIO())
    assert "0 values re-encrypted" in out.getvalue()


def test_rotate_secrets_finds_every_encrypted_field():
    found = {(model._meta.label, field.name) for model, field in encrypted_columns()}
    assert {("messaging.MessageBody", "content"), ("messaging.Message", "title")} <= found


def test_rotate_secrets_dry_run_changes_nothing(owner, make_message, settings):
    message = make_message(owner)
    before = raw("content", message.pk)
    settings.FERNET_KEYS = [Fernet.generate_key().decode(), *settings.FERNET_KEYS]
    out = io.StringIO()
    call_command("rotate_secrets", "--dry-run", stdout=out, stderr=io.StringIO())
    assert "would be re-encrypted" in out.getvalue()
    assert raw("content", message.pk) == before


@pytest.mark.parametrize(
    "size, message",
    [
        ("0", "--batch-size must be at least 1, got 0"),
        # beyond SQLite's 64-bit LIMIT this was an OverflowError traceback
        ("99999999999999999999", "--batch-size must be at most 100000, got 99999999999999999999"),
    ],
)
def test_rotate_secrets_refuses_a_bad_batch_size(db, size, message):
    with pytest.raises(CommandError, match=message):
        call_command("rotate_secrets", f"--batch-size={size}", "--dry-run")


def test_rotate_secrets_without_the_old_key_says_what_to_do(owner, make_message, settings):
    make_message(owner)
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match=r"is the old key still listed after the new one\?"):
        call_command("rotate_secrets", stdout=io.StringIO(), stderr=io.StringIO())
