"""A 100 MB attachment goes in through the API and out through the delivery page in a bounded memory.

A real worker process (Django's WSGI handler, as gunicorn runs it) is fed a multipart body
read from disk and streams the download to a hash; its peak RSS (``ru_maxrss``) is measured
after a warm-up with a small file, so imports and caches are in the baseline. What the
bound allows is a few chunks of 64 KiB in flight and Django's upload buffers, far below the
file: a whole file held in memory at any step would pass the bound by 100 MB.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from accounts.api_keys import apikey_create
from tests.conftest import run_python

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SIZE = 100 * 1024 * 1024
BOUND_MB = 40
BOUNDARY = "cradleboundary7MA4YWxkTrZu0gW"

WORKER = r"""
import hashlib, io, json, resource, sys
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone
from messaging import delivery_links
from messaging.models import Delivery, DeliveryLink, Message

args = json.loads(sys.argv[1])
app = WSGIHandler()


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def call(method, path, body=None, length=0, content_type=""):
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": body or io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(length), "CONTENT_TYPE": content_type,
        "HTTP_AUTHORIZATION": "Bearer " + args["key"],
    }
    seen = {}
    result = app(environ, lambda status, headers, exc_info=None: seen.update(status=status))
    digest, size, head = hashlib.sha256(), 0, b""
    for chunk in result:
        digest.update(chunk)
        size += len(chunk)
        head = (head + chunk)[:4096]
    getattr(result, "close", lambda: None)()
    return seen["status"], digest.hexdigest(), size, head


def upload(path, message_id):
    with open(path, "rb") as body:
        status, _, _, head = call(
            "POST", f"/api/v1/messages/{message_id}/attachments", body=body, length=args["lengths"][path],
            content_type="multipart/form-data; boundary=" + args["boundary"],
        )
    assert status.startswith("201"), (status, head)
    return json.loads(head)["id"]


def download(message_id, attachment_id):
    message = Message.objects.get(pk=message_id)
    Message.objects.filter(pk=message_id).update(state="delivered", delivered_at=timezone.now())
    recipient = message.recipients.get()
    delivery = Delivery.objects.create(message=message, recipient=recipient, state="sent")
    link, secret = delivery_links.link_create(delivery=delivery, reason=DeliveryLink.Reason.DELIVERED, now=timezone.now())
    status, digest, size, _ = call("GET", f"/d/{secret}/files/{attachment_id}/")
    assert status.startswith("200"), status
    return digest, size


small = upload(args["small_body"], args["warm_message"])
download(args["warm_message"], small)
baseline = peak_mb()
big = upload(args["big_body"], args["message"])
after_upload = peak_mb()
digest, size = download(args["message"], big)
print(json.dumps({"baseline_mb": baseline, "after_upload_mb": after_upload, "peak_mb": peak_mb(),
                  "digest": digest, "size": size}))
"""


def _multipart(path, data_chunks) -> int:
    """Write a multipart body with one ``file`` field to ``path``, a chunk at a time; return its length."""
    with open(path, "wb") as out:
        out.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        for chunk in data_chunks:
            out.write(chunk)
        out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return os.path.getsize(path)


def test_a_100_mb_file_goes_in_and_out_in_bounded_memory(owner, make_message, tmp_path):
    message, warm = make_message(owner), make_message(owner)
    key = apikey_create(user=owner, name="memory", permissions=["messages:read", "messages:write"])
    digest = hashlib.sha256()

    def chunks():
        for _ in range(SIZE // (1024 * 1024)):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            yield chunk

    big, small = str(tmp_path / "big.body"), str(tmp_path / "small.body")
    lengths = {big: _multipart(big, chunks()), small: _multipart(small, [b"warm-up"])}
    args = {
        "key": key.secret,
        "boundary": BOUNDARY,
        "lengths": lengths,
        "big_body": big,
        "small_body": small,
        "message": message.pk,
        "warm_message": warm.pk,
    }
    worker = run_python(
        WORKER.replace("sys.argv[1]", repr(json.dumps(args))),
        MESSAGING_ATTACHMENT_DIR=str(tmp_path / "stored"),
        MESSAGING_ATTACHMENT_MAX_MB="100",
        FILE_UPLOAD_TEMP_DIR=str(tmp_path),
    )
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert (result["size"], result["digest"]) == (SIZE, digest.hexdigest()), "the file came back byte for byte"
    stored = sum(p.stat().st_size for p in (tmp_path / "stored").rglob("*.bin"))
    assert stored > SIZE, "both files are on disk, encrypted (each chunk carries its tag)"
    grew = result["peak_mb"] - result["baseline_mb"]
    assert grew < BOUND_MB, result
