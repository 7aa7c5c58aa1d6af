"""The local S3 the off-site and attachment tests talk to (moto in server mode, started by bin/services)."""

from __future__ import annotations

import os
import uuid

import pytest

ENDPOINT = os.environ.get("TEST_S3_ENDPOINT_URL", "")


def s3_fresh_bucket(monkeypatch) -> str:
    """A new, empty bucket on the local S3 (boto3's credentials set for it); skips without one."""
    import boto3
    from botocore.exceptions import BotoCoreError

    if not ENDPOINT:
        if os.environ.get("CRADLE_REQUIRE_S3") == "1":
            pytest.fail("CRADLE_REQUIRE_S3=1 but TEST_S3_ENDPOINT_URL is not set (bin/test sets it)")
        pytest.skip("no local S3: set TEST_S3_ENDPOINT_URL=http://127.0.0.1:5005 after bin/services")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"cradle-{uuid.uuid4().hex[:12]}"
    try:
        boto3.client("s3", endpoint_url=ENDPOINT).create_bucket(Bucket=bucket)
    except BotoCoreError as exc:
        pytest.fail(f"the local S3 at {ENDPOINT} does not answer ({exc}); bin/services starts it")
    return bucket


def s3_bucket(settings, monkeypatch) -> str:
    """A fresh bucket on the local S3, with BACKUP_S3_URL pointing into it; skips without one."""
    bucket = s3_fresh_bucket(monkeypatch)
    settings.BACKUP_S3_URL = f"s3://{bucket}/site-a"
    settings.BACKUP_S3_ENDPOINT_URL = ENDPOINT
    return bucket


def s3_client():
    import boto3

    return boto3.client("s3", endpoint_url=ENDPOINT)
