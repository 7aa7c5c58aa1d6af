"""Helpers for the write walks: the resolved routes, the owner's world, a whole-database snapshot.

``snapshot`` reads every row of every model of the project's own apps (found by where
the app lives, so an app added later is in it without a change here) plus django-q2's
queue, every field through the ORM. Two equal snapshots mean a request changed nothing a
user or a job could see.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.api_keys import apikey_create
from accounts.models import ApiKey, User
from messaging import links
from messaging import services as messaging_services
from messaging.models import Message
from publishing import services as publishing_services
from publishing.models import ContentSource, Project, PublishingTask
from tests.publishing.conftest import SECRETS, png_bytes

ROOT = Path(settings.BASE_DIR).resolve()
# A POST that only queues a job still changes what will happen: the queue is watched too.
THIRD_PARTY_WATCHED = {"django_q"}


def resolved_routes() -> Iterator[tuple[str, str, object]]:
    """(namespaced name, route, callback) of every URL pattern, walked recursively."""

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                yield f"{namespace}{pattern.name or ''}", prefix + str(pattern.pattern), pattern.callback

    yield from walk(get_resolver().url_patterns, "", "")


# The rate limiter's counters: an outsider's refused attempt is meant to count there.
NOT_DATA = {"cradle_site.RateBucket"}


def watched_models() -> list:
    models = []
    for config in apps.get_app_configs():
        ours = Path(config.path).resolve().parent == ROOT  # top-level folders, not .venv's apps
        if ours or config.label in THIRD_PARTY_WATCHED:
            models += [
                m
                for m in config.get_models()
                if not m._meta.proxy and m._meta.managed and m._meta.label not in NOT_DATA
            ]
    return models


def snapshot() -> dict[str, list[dict]]:
    return {m._meta.label: list(m._base_manager.order_by("pk").values()) for m in watched_models()}


def changes(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict[str, tuple[list, list]]:
    """Per model label, the rows only in ``before`` and the rows only in ``after``."""
    found = {}
    for label in before:
        gone = [row for row in before[label] if row not in after[label]]
        new = [row for row in after[label] if row not in before[label]]
        if gone or new:
            found[label] = (gone, new)
    return found


@dataclass
class World:
    """One owner's data, enough for every write to have something to act on."""

    owner: User
    outsider: User
    message: Message
    revocation_key: str
    checkin_token: str
    project: Project
    source: ContentSource
    task: PublishingTask  # pending: cancel and change act on it
    failed_task: PublishingTask  # failed: retry acts on it
    held_task: PublishingTask  # held (it may already be on X): post anyway / mark posted act on it
    api_key: ApiKey
    media_root: Path

    def new_folder(self) -> str:
        """A folder inside the owner's own folder that no source reads yet."""
        folder = self.media_root / "more"
        folder.mkdir(exist_ok=True)
        return str(folder)


def build_world(owner: User, outsider: User, media_root: Path) -> World:
    message, revocation_key = messaging_services.message_create(
        owner=owner,
        content="the secret plan",
        initial_delay_months=1,
        recipients=[{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}],
    )
    project = publishing_services.project_create(owner=owner, name="Cats", slot_interval_minutes=30, daily_cap=1000)
    publishing_services.project_set_credentials(project=project, **SECRETS)
    project.gdrive_refresh_token = "rt-connected-drive"  # connected, so disconnecting changes something
    project.save(update_fields=["gdrive_refresh_token"])
    (media_root / "cat.png").write_bytes(png_bytes(1))
    source = publishing_services.source_create(
        project=project, source_type="local_folder", path_or_identifier=str(media_root)
    )
    task = publishing_services.task_create(project=project, text="Pending post")
    failed_task = publishing_services.task_create(project=project, text="Failed post")
    PublishingTask.objects.filter(pk=failed_task.pk).update(status=PublishingTask.Status.FAILED)
    failed_task.refresh_from_db()
    held_task = publishing_services.task_create(project=project, media_path=str(media_root / "cat.png"))
    PublishingTask.objects.filter(pk=held_task.pk).update(status=PublishingTask.Status.HELD, maybe_posted=True)
    held_task.refresh_from_db()
    return World(
        owner=owner,
        outsider=outsider,
        message=message,
        revocation_key=revocation_key,
        checkin_token=links.checkin_token(message),
        project=project,
        source=source,
        task=task,
        failed_task=failed_task,
        held_task=held_task,
        api_key=apikey_create(user=owner, name="script", permissions=["account:read"]).api_key,
        media_root=media_root,
    )
