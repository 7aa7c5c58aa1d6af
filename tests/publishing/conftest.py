"""Publishing fixtures: projects with and without X credentials, the owner's media folder
inside the allowed root, and small real media files."""

from __future__ import annotations

import struct
import zlib

import pytest

from publishing.models import ContentSource, Project
from publishing.services import project_create, project_set_credentials

SECRETS = {
    "x_consumer_key": "ck-SECRET-consumer-key-1111",
    "x_consumer_secret": "cs-SECRET-consumer-secret-2222",
    "x_access_token": "at-SECRET-access-token-3333",
    "x_access_token_secret": "ats-SECRET-token-secret-4444",
}


def png_bytes(seed: int = 0) -> bytes:
    """A valid 1x1 PNG; ``seed`` changes the pixel so files hash differently."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"\x00" + bytes([seed % 256, (seed // 256) % 256, 7])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def local_root(tmp_path, settings):
    """The one root of local folders; each user's folder is ``<root>/<user id>``."""
    root = (tmp_path / "media").resolve()
    root.mkdir()
    settings.PUBLISHING_LOCAL_ROOTS = [root]
    return root


@pytest.fixture
def media_root(local_root, owner):
    """The owner's own folder, where their sources and media files live."""
    folder = local_root / str(owner.pk)
    folder.mkdir()
    return folder


@pytest.fixture
def project(owner) -> Project:
    return project_create(owner=owner, name="Cats", slot_interval_minutes=30, daily_cap=1000)


@pytest.fixture
def x_project(owner) -> Project:
    project = project_create(owner=owner, name="Live", slot_interval_minutes=30, daily_cap=1000)
    return project_set_credentials(project=project, **SECRETS)


@pytest.fixture
def folder_source(project, media_root) -> ContentSource:
    from publishing.services import source_create

    return source_create(project=project, source_type="local_folder", path_or_identifier=str(media_root))


@pytest.fixture(autouse=True)
def task_counts_stay_exact(request):
    """After every publishing test that touched the database, the kept per-project counts
    (publishing.task_counts) equal a GROUP BY over the tasks: whatever path the test took."""
    names = set(request.fixturenames)
    if not {"db", "transactional_db"} & names and request.node.get_closest_marker("django_db") is None:
        yield
        return
    # Asked for here, so the database is torn down after this check, not before it.
    request.getfixturevalue("transactional_db" if "transactional_db" in names else "db")
    yield
    from django.db.models import Count

    from publishing.models import ProjectTaskCount, PublishingTask

    kept = {(p, s): n for p, s, n in ProjectTaskCount.objects.values_list("project_id", "status", "tasks") if n}
    actual = {
        (p, s): n
        for p, s, n in PublishingTask._base_manager.order_by()
        .values_list("project_id", "status")
        .annotate(n=Count("id"))
    }
    assert kept == actual
