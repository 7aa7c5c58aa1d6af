"""Attachments in an S3-compatible bucket: moto's server on a local port, reached by the real boto3 client."""

from __future__ import annotations

import io
import os
import socket

import boto3
import pytest
import time_machine
from django.urls import reverse

from cradle_site.settings import attachment_storage
from messaging import attachment_crypto, attachments
from tests.clock import NOW
from tests.messaging.recipient_side import deliver_now, token_sent_to

pytestmark = pytest.mark.django_db
BUCKET = "cradle-attachments"
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, settings):
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        region_name=CREDENTIALS["region_name"],
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": attachment_storage(BUCKET, endpoint_url=s3_server, **CREDENTIALS),
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_a_file_goes_to_the_bucket_encrypted_and_comes_back_to_the_recipient(
    client, owner, make_message, bucket, django_capture_on_commit_callbacks
):
    data = os.urandom(3 * attachment_crypto.CHUNK_BYTES + 11) + b"the attached secret"
    message = make_message(owner)
    attachment = attachments.attachment_add(message=message, stream=io.BytesIO(data), name="plan.bin")
    [stored] = bucket.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert stored["Key"] == "attachments/" + attachment.storage_name
    raw = bucket.get_object(Bucket=BUCKET, Key=stored["Key"])["Body"].read()
    assert raw.startswith(attachment_crypto.MAGIC) and b"the attached secret" not in raw
    deliver_now(message)
    token = token_sent_to("rae@example.com")
    with time_machine.travel(NOW, tick=False):
        download = client.get(reverse("delivery_file", args=[token, attachment.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == data
    with django_capture_on_commit_callbacks(execute=True):
        attachment.delete()
    assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0, "the object goes with its row"
