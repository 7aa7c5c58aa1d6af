"""Attachments in an S3-compatible bucket: the suite's local S3 (moto in server mode, started by
bin/services; ``tests/ops/s3.py``), reached by the real boto3 client through django-storages."""

from __future__ import annotations

import io
import os

import pytest
import time_machine
from django.urls import reverse

from cradle_site.settings import attachment_storage
from messaging import attachment_crypto, attachments
from tests.clock import NOW
from tests.messaging.recipient_side import deliver_now, token_sent_to
from tests.ops.s3 import ENDPOINT, s3_client, s3_fresh_bucket

pytestmark = pytest.mark.django_db


@pytest.fixture
def bucket(settings, monkeypatch):
    name = s3_fresh_bucket(monkeypatch)  # skips (or fails under CRADLE_REQUIRE_S3) without the local S3
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": attachment_storage(
            name, endpoint_url=ENDPOINT, region_name="us-east-1", access_key="testing", secret_key="testing"
        ),
    }
    client = s3_client()
    yield client, name
    for item in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


def test_a_file_goes_to_the_bucket_encrypted_and_comes_back_to_the_recipient(
    client, owner, make_message, bucket, django_capture_on_commit_callbacks
):
    s3, name = bucket
    data = os.urandom(3 * attachment_crypto.CHUNK_BYTES + 11) + b"the attached secret"
    message = make_message(owner)
    attachment = attachments.attachment_add(message=message, stream=io.BytesIO(data), name="plan.bin")
    [stored] = s3.list_objects_v2(Bucket=name)["Contents"]
    assert stored["Key"] == "attachments/" + attachment.storage_name
    raw = s3.get_object(Bucket=name, Key=stored["Key"])["Body"].read()
    assert raw.startswith(attachment_crypto.MAGIC) and b"the attached secret" not in raw
    deliver_now(message)
    token = token_sent_to("rae@example.com")
    with time_machine.travel(NOW, tick=False):
        download = client.get(reverse("delivery_file", args=[token, attachment.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == data
    with django_capture_on_commit_callbacks(execute=True):
        attachment.delete()
    assert s3.list_objects_v2(Bucket=name).get("KeyCount") == 0, "the object goes with its row"
