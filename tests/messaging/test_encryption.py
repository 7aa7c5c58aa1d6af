"""Secrets at rest: the content column never holds plaintext (rotation: tests/ops/test_rotate_secrets.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from messaging.models import Message

pytestmark = pytest.mark.django_db


# Where each secret column lives: the text sits apart from the ladder row (MessageBody).
TABLES = {"content": ("messaging_messagebody", "message_id"), "title": ("messaging_message", "id")}


def raw(column: str, pk: int) -> str:
    table, key = TABLES[column]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {key} = %s", [pk])
        return cursor.fetchone()[0]


def test_the_content_column_never_holds_the_plaintext(owner, make_message):
    message = make_message(owner, content="meet me under the old oak", title="Old oak")
    for column in ("content", "title"):
        stored = raw(column, message.pk)
        # Words with a space: a Fernet token (base64) holds "oak" by chance now and then, never " oak".
        assert " oak" not in stored.lower()
        assert stored.startswith("gAAAA")  # a Fernet token
    assert Message.objects.get(pk=message.pk).content == "meet me under the old oak"
    # Nothing searchable by plaintext either.
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM messaging_messagebody WHERE content LIKE %s", ["% oak%"])
        assert cursor.fetchone()[0] == 0
