"""Recipient contacts at rest: a Fernet token and a keyed hash, never the address itself.

Staff find a recipient by its exact address through the hash; the sweep sends each address
once by it; rotate_secrets covers the new columns; the migration fills them in batches.
"""

from __future__ import annotations

import importlib
import io
import re

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext, override_settings

from cradle_site import crypto
from messaging.contacts import contact_hash
from messaging.models import Delivery, Recipient
from tests.messaging.test_delivery_faults import _start_delivery

pytestmark = pytest.mark.django_db
HOOK = "https://hooks.example.com/cradle?k=1"


def _raw(pk: int) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact, contact_hash, webhook_secret FROM messaging_recipient WHERE id = %s", [pk])
        return cursor.fetchone()


def _people() -> list[dict]:
    return [
        {"name": "Rae", "contact": "Rae@Example.com", "contact_type": "email"},
        {"name": "Hook", "contact": HOOK, "contact_type": "webhook"},
    ]


def test_it_stores_contacts_and_webhook_secrets_as_fernet_tokens(owner, make_message):
    message = make_message(owner, recipients=_people())
    rae, hook = message.recipients.order_by("id")
    for recipient in (rae, hook):
        contact, digest, _secret = _raw(recipient.pk)
        assert contact.startswith("gAAAA") and "example.com" not in contact
        assert digest == contact_hash(recipient.contact_type, recipient.contact) and len(digest) == 64
    assert _raw(hook.pk)[2].startswith("gAAAA") and "whsec_" not in _raw(hook.pk)[2]
    assert (rae.contact, hook.contact) == ("Rae@Example.com", HOOK), "read back as typed"
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM messaging_recipient WHERE contact LIKE %s", ["%example.com%"])
        assert cursor.fetchone()[0] == 0


def test_the_hash_is_keyed_by_the_server_and_equal_for_two_spellings_of_one_address(settings):
    assert contact_hash("email", "Rae@Example.com ") == contact_hash("email", "rae@example.com")
    assert contact_hash("email", "rae@example.com") != contact_hash("sms", "rae@example.com")
    before = contact_hash("email", "rae@example.com")
    with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40):
        assert contact_hash("email", "rae@example.com") != before, "keyed: not a plain hash anyone can compute"
    settings.FERNET_KEYS = [Fernet.generate_key().decode(), *settings.FERNET_KEYS]
    assert contact_hash("email", "rae@example.com") == before, "a Fernet rotation leaves the hashes alone"


def test_the_sweep_sends_each_address_once_by_its_hash_without_decrypting_contacts(owner, make_message, monkeypatch):
    message = make_message(owner, recipients=_people())
    # A row that reached the table around the services: the same address spelled otherwise.
    Recipient.objects.create(message=message, name="Rae again", contact=" RAE@example.com", contact_type="email")
    tokens = {row[0] for row in map(_raw, message.recipients.values_list("id", flat=True))}
    decrypted = []
    real_decrypt = crypto.decrypt
    monkeypatch.setattr(crypto, "decrypt", lambda token: decrypted.append(token) or real_decrypt(token))
    _start_delivery(message)
    assert not tokens & set(decrypted), "no contact was decrypted to compare addresses"
    names = sorted(Delivery.objects.filter(message=message).values_list("recipient__name", flat=True))
    assert names == ["Hook", "Rae"]


def test_staff_find_a_recipient_by_its_exact_address_through_the_hash(client, staff, owner, make_message):
    message = make_message(owner, recipients=_people())
    other = make_message(owner, recipients=[{"name": "Sol", "contact": "sol@example.com", "contact_type": "email"}])
    client.force_login(staff)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/admin/messaging/delivery/", {"q": "rae@EXAMPLE.com"})
    assert page.status_code == 200
    assert not any(re.search(r"contact[\"`]? LIKE", q["sql"]) for q in queries.captured_queries)
    _start_delivery(message, other)
    page = client.get("/admin/messaging/delivery/", {"q": "rae@EXAMPLE.com"}).content.decode()
    [rae] = Delivery.objects.filter(recipient__name="Rae")
    [sol] = Delivery.objects.filter(recipient__name="Sol")
    assert f"/admin/messaging/delivery/{rae.pk}/change/" in page
    assert f"/admin/messaging/delivery/{sol.pk}/change/" not in page
    assert client.get("/admin/messaging/delivery/", {"q": "Sol"}).content.decode().count("/change/") >= 1
    listing = client.get("/admin/messaging/message/", {"q": HOOK}).content.decode()
    assert f"/admin/messaging/message/{message.pk}/change/" in listing
    assert f"/admin/messaging/message/{other.pk}/change/" not in listing
    # A part of an address finds nothing: the search is exact.
    assert (
        f"/admin/messaging/message/{message.pk}/change/"
        not in client.get("/admin/messaging/message/", {"q": "example.com"}).content.decode()
    )


def test_rotate_secrets_covers_contacts_and_signing_secrets_and_recomputes_the_hashes(owner, make_message, settings):
    message = make_message(owner, recipients=_people())
    rae, hook = message.recipients.order_by("id")
    old_key, new_key = settings.FERNET_KEYS[0], Fernet.generate_key().decode()
    settings.FERNET_KEYS = [new_key, old_key]
    err, out = io.StringIO(), io.StringIO()
    call_command("rotate_secrets", "--batch-size=1", stdout=out, stderr=err)
    assert "messaging.Recipient.contact: 2 re-encrypted" in err.getvalue()
    assert "messaging.Recipient.webhook_secret: 1 re-encrypted" in err.getvalue()
    assert "messaging.Recipient.contact_hash: 0 recomputed" in err.getvalue()
    settings.FERNET_KEYS = [new_key]
    assert Recipient.objects.get(pk=hook.pk).webhook_secret == hook.webhook_secret
    Fernet(new_key).decrypt(_raw(rae.pk)[0].encode())
    # After a change of SECRET_KEY, which keys the hashes, the same command recomputes them.
    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 40
    call_command("rotate_secrets", stdout=out, stderr=(err := io.StringIO()))
    assert "messaging.Recipient.contact_hash: 2 recomputed" in err.getvalue()
    assert _raw(rae.pk)[1] == contact_hash("email", "rae@example.com")


@pytest.mark.django_db(transaction=True)
def test_the_migrations_encrypt_existing_contacts_in_batches_and_give_webhooks_a_secret(owner):
    migration = importlib.import_module("messaging.migrations.0009_recipient_contact_backfill")
    executor = MigrationExecutor(connection)
    before, after = (
        [("messaging", "0007_message_owner_created_idx")],
        [("messaging", "0010_recipient_drop_clear_contact")],
    )
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        message_model = apps.get_model("messaging", "Message")
        recipient_model = apps.get_model("messaging", "Recipient")
        message = message_model.objects.create(
            owner_id=owner.pk, next_warning_date="2030-01-01T00:00Z", revocation_key_hash="h"
        )
        kinds = ["email", "webhook", "sms"] * 3
        contacts = {"email": "p{}@example.com", "webhook": "https://hooks.example.com/{}", "sms": "+1415555{:04d}"}
        recipient_model.objects.bulk_create(
            recipient_model(message=message, name=f"r{i}", contact=contacts[kind].format(i), contact_type=kind)
            for i, kind in enumerate(kinds)
        )
        migration.BATCH = 4  # several batches, the last one partial
        executor.loader.build_graph()
        with CaptureQueriesContext(connection) as queries:
            executor.migrate(after)
        updates = [
            q for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "messaging_recipient" in q["sql"]
        ]
        assert len(updates) == 3  # 9 rows in batches of 4: one UPDATE each
        # The columns of 0010 only: later migrations add others (tell_named, ...) not there yet.
        rows = list(Recipient.objects.only("contact", "contact_type", "webhook_secret").order_by("id"))
        assert [r.contact for r in rows] == [contacts[kind].format(i) for i, kind in enumerate(kinds)]
        for row in rows:
            raw_contact, digest, _secret = _raw(row.pk)
            assert raw_contact.startswith("gAAAA") and digest == contact_hash(row.contact_type, row.contact)
            assert row.webhook_secret.startswith("whsec_") if row.contact_type == "webhook" else not row.webhook_secret
        assert len({r.webhook_secret for r in rows if r.contact_type == "webhook"}) == 3
        # And back: the clear column comes back with the addresses.
        executor.loader.build_graph()
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute("SELECT contact FROM messaging_recipient ORDER BY id")
            assert [c for (c,) in cursor.fetchall()] == [contacts[kind].format(i) for i, kind in enumerate(kinds)]
    finally:
        migration.BATCH = 1_000
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
