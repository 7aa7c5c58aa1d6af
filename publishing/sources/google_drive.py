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

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from publishing.sources.base import Item, SourceError, scan_tick
from publishing.sources.google_http import google_request

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


def _get(path: str, *, credential: str, params: dict | None = None, stream: bool = False) -> requests.Response:
    extra_params, headers = _auth(credential)
    url = f"{settings.PUBLISHING_GOOGLE_DRIVE_BASE_URL}/drive/v3/{path}"
    try:
        response = google_request("GET", url, params={**(params or {}), **extra_params}, headers=headers, stream=stream)
    except requests.RequestException as exc:
        raise SourceError(_("Google Drive could not be reached: %(error)s") % {"error": exc}) from None
    if response.status_code != 200:
        raise SourceError(
            _("Google Drive answered %(status)s: %(body)s")
            % {"status": response.status_code, "body": response.text[:200]}
        )
    return response


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
        data = _get("files", credential=credential, params=params).json()
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


def download(source, file_id: str) -> requests.Response:
    """The file's content (``alt=media``) as a streamed response, to be closed by the caller."""
    return _get(f"files/{file_id}", credential=_credential(source), params={"alt": "media"}, stream=True)
