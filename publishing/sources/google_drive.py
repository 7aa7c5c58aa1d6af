"""A Google Drive folder, read through the Drive v3 REST API over plain HTTP.

Whose Drive: the source's own credential if its owner gave one (an API key ``AIza…`` for
folders shared by link, or an access token); else the project's connected Google account
(``publishing.drive_oauth``); else, only for a project staff marked as the operator's own
(``Project.uses_operator_drive``), ``PUBLISHING_GOOGLE_DRIVE_CREDENTIAL``. A user's project
never reads with the operator's credential, so ``root`` is the user's own Drive or nothing.
The base URL is a setting so tests talk to a local double. The post text is the file's
description.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from cradle_site.outbound import OutboundError, open_url, operator_hosts, read_capped
from cradle_site.outbound_errors import Kind
from publishing.sources.base import Item, SourceError, scan_tick

FIELDS = "nextPageToken, files(id, name, mimeType, description, md5Checksum)"
MAX_PAGES = 100


def _auth(credential: str) -> tuple[dict, dict]:
    if credential.startswith("AIza"):
        return {"key": credential}, {}
    return {}, {"Authorization": f"Bearer {credential}"}


def _credential(source) -> str:
    from publishing import drive_oauth

    if source.credential:
        return source.credential
    project = source.project
    if project.drive_connected:
        return drive_oauth.access_token(project)
    if project.uses_operator_drive and settings.PUBLISHING_GOOGLE_DRIVE_CREDENTIAL:
        return settings.PUBLISHING_GOOGLE_DRIVE_CREDENTIAL
    raise SourceError(_("Connect Google Drive on the project page first."))


@contextmanager
def _open(path: str, *, credential: str, params: dict | None = None, deadline: int) -> Iterator[requests.Response]:
    """A streamed answer of the Drive API, through the checked session (``cradle_site.outbound``).

    The base URL is the operator's, so ``OUTBOUND_ALLOWED_HOSTS`` may admit a Drive double
    inside the network. Failures are one sentence naming the host: never the URL, whose
    query string may carry the API key.
    """
    extra_params, headers = _auth(credential)
    url = f"{settings.PUBLISHING_GOOGLE_DRIVE_BASE_URL}/drive/v3/{path}"
    try:
        with open_url(
            url,
            params={**(params or {}), **extra_params},
            headers=headers,
            timeout=settings.PUBLISHING_HTTP_TIMEOUT,
            deadline=deadline,
            allowed_hosts=operator_hosts(),
        ) as response:
            yield response
    except OutboundError as exc:
        raise SourceError(_("Google Drive: %(error)s") % {"error": exc}, kind=exc.kind) from None


def _list(params: dict, *, credential: str) -> dict:
    with _open("files", credential=credential, params=params, deadline=settings.PUBLISHING_FEED_READ_SECONDS) as r:
        body = read_capped(r, max_bytes=settings.PUBLISHING_FEED_MAX_BYTES)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SourceError(_("Google Drive sent an answer that is not a file list."), kind=Kind.BAD_ANSWER)
    return data


def fetch_items(source) -> list[Item]:
    folder_id = source.path_or_identifier.strip()
    if "'" in folder_id or "\\" in folder_id:
        raise SourceError(_("That is not a Drive folder id"))
    query = (
        f"'{folder_id}' in parents and trashed = false and (mimeType contains 'image/' or mimeType contains 'video/')"
    )
    credential = _credential(source)
    items: list[Item] = []
    page_token = None
    for _page in range(MAX_PAGES):
        params = {"q": query, "fields": FIELDS, "pageSize": 1000, "orderBy": "name"}
        if page_token:
            params["pageToken"] = page_token
        data = _list(params, credential=credential)
        for file in data.get("files", []):
            items.append(
                Item(
                    key=f"gdrive:{file['id']}",
                    text=(file.get("description") or "").strip(),
                    media={
                        "kind": "gdrive",
                        "file_id": file["id"],
                        "name": file.get("name", ""),
                        "mime_type": file.get("mimeType", ""),
                    },
                    media_hash=file.get("md5Checksum", ""),
                )
            )
        scan_tick(len(items))
        page_token = data.get("nextPageToken")
        if not page_token:
            break
    return items


@contextmanager
def download(source, file_id: str) -> Iterator[requests.Response]:
    """The file's content (``alt=media``) as a streamed response, closed when the block ends."""
    with _open(
        f"files/{quote(file_id, safe='')}",
        credential=_credential(source),
        params={"alt": "media"},
        deadline=settings.PUBLISHING_MEDIA_READ_SECONDS,
    ) as response:
        yield response
