"""rotate_secrets re-encrypts every encrypted column under the newest key, in batches, and can run again."""

from __future__ import annotations

import io
import re

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Message, MessageBody
from ops.rotation import encrypted_columns
from publishing.models import Project
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
    assert {
        ("messaging.MessageBody", "content"),
        ("messaging.Message", "title"),
        ("messaging.Recipient", "contact"),
        ("messaging.Recipient", "webhook_secret"),
        ("publishing.Project", "x_consumer_key"),
        ("publishing.Project", "x_consumer_secret"),
        ("publishing.Project", "x_access_token"),
        ("publishing.Project", "x_access_token_secret"),
        ("publishing.ContentSource", "credential"),
    } <= found


def test_rotate_secrets_writes_one_update_per_batch_not_per_row(owner, make_message, settings):
    old_key, new_key = settings.FERNET_KEYS[0], Fernet.generate_key().decode()
    messages = [make_message(owner, content=f"note {i}", title=f"title {i}") for i in range(50)]
    project = Project.objects.create(
        owner=owner, name="p", x_consumer_key="ck", x_consumer_secret="cs", x_access_token="at"
    )
    settings.FERNET_KEYS = [new_key, old_key]
    with CaptureQueriesContext(connection) as queries:
        call_command("rotate_secrets", "--batch-size=20", stdout=io.StringIO(), stderr=io.StringIO())
    assert update_statements(queries, MessageBody._meta.db_table) == 3  # 50 rows in batches of 20
    assert update_statements(queries, Message._meta.db_table) == 3
    assert update_statements(queries, Project._meta.db_table) == 3  # one per column, one batch each
    settings.FERNET_KEYS = [new_key]  # only the new key can read anything now
    for i, message in enumerate(messages):
        reread = Message.objects.get(pk=message.pk)
        assert (reread.title, reread.content) == (f"title {i}", f"note {i}")
    project = Project.objects.get(pk=project.pk)
    assert (
        project.x_consumer_key,
        project.x_consumer_secret,
        project.x_access_token,
        project.x_access_token_secret,
    ) == (
        "ck",
        "cs",
        "at",
        "",
    )


def update_statements(queries: CaptureQueriesContext, table: str) -> int:
    """UPDATEs sent to ``table``; Django logs an executemany once as ``"N times: UPDATE ..."``, which counts N."""
    count = 0
    for query in queries.captured_queries:
        match = re.match(r"(?:(\d+) times: )?UPDATE [`\"]?(\w+)[`\"]? ", query["sql"].lstrip())
        if match and match[2] == table:
            count += int(match[1] or 1)
    return count


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
        ("many", "invalid int value: 'many'"),
        ("0", "--batch-size must be at least 1, got 0"),
        # beyond SQLite's 64-bit LIMIT this was an OverflowError traceback
        ("99999999999999999999", "--batch-size must be at most 5000, got 99999999999999999999"),
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
