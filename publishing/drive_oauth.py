"""Each project reads Google Drive as its owner's own Google account, connected by OAuth 2.0.

Every Drive source used to be read with the operator's ``PUBLISHING_GOOGLE_DRIVE_CREDENTIAL``,
so a user who named the folder ``root`` listed the operator's files. Now the owner connects
the project to their account: the authorization code flow (RFC 6749 §4.1) with ``state``
and PKCE ``S256`` kept in the owner's session (``cradle_site.oauth_pkce``). ``access_type=offline`` brings a refresh token, stored encrypted like the X
credentials (``EncryptedTextField``); the short-lived access token is refreshed when it
has expired. Disconnecting forgets both and asks Google to revoke the grant.

The Google endpoints are settings so tests point them at a local double; every call goes
through ``sources.google_http.google_request``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cradle_site import oauth_pkce
from cradle_site.audit_vocabulary import EventType
from ops.audit import audit_record
from publishing.models import Project
from publishing.sources.base import SourceError
from publishing.sources.google_http import google_request

log = logging.getLogger(__name__)
SCOPE = "https://www.googleapis.com/auth/drive.readonly"
SESSION_KEY = "publishing_drive_oauth"
# Refresh a little early: a token that expires on its way to Drive fails the scan.
EXPIRY_MARGIN = timedelta(seconds=60)
TOKEN_FIELDS = ["gdrive_refresh_token", "gdrive_access_token", "gdrive_token_expires_at", "gdrive_account"]


class DriveAuthError(SourceError):
    """Connecting or refreshing failed; the text is for the owner (no token, no Google answer)."""

    invalid_grant = False  # Google no longer accepts the grant: connect again


AuthError = DriveAuthError  # the name publishing.views' shared connect/callback catches


def is_configured() -> bool:
    return bool(settings.PUBLISHING_GOOGLE_OAUTH_CLIENT_ID and settings.PUBLISHING_GOOGLE_OAUTH_CLIENT_SECRET)


def redirect_uri() -> str:
    return settings.SITE_URL + reverse("publishing:drive_callback")


def authorization_start(*, session, project: Project) -> str:
    """Remember a fresh state and PKCE verifier in ``session``; return Google's consent URL."""
    if not is_configured():
        raise DriveAuthError(_("Google Drive is not set up on this site; ask its operator."))
    query = {
        "client_id": settings.PUBLISHING_GOOGLE_OAUTH_CLIENT_ID,
        "redirect_uri": redirect_uri(),
        "response_type": "code",
        "scope": SCOPE,
        **oauth_pkce.flow_start(session, SESSION_KEY, project_id=project.pk),
        "access_type": "offline",
        # Google sends a refresh token only with the consent screen; ask for it every time.
        "prompt": "consent",
        "include_granted_scopes": "true",
    }
    return f"{settings.PUBLISHING_GOOGLE_OAUTH_AUTHORIZE_URL}?{urlencode(query)}"


def authorization_pending(*, session, state: str) -> tuple[int, str]:
    """The project and PKCE verifier of the session's own flow (``cradle_site.oauth_pkce``)."""
    try:
        return oauth_pkce.flow_pending(session, SESSION_KEY, state=state)
    except oauth_pkce.FlowRefused:
        raise DriveAuthError(
            _("That Google answer does not belong to this session; connect Google Drive again.")
        ) from None


def _token_call(data: dict) -> dict:
    """POST to Google's token endpoint; the JSON answer, or DriveAuthError (``invalid_grant`` flagged)."""
    body = {
        **data,
        "client_id": settings.PUBLISHING_GOOGLE_OAUTH_CLIENT_ID,
        "client_secret": settings.PUBLISHING_GOOGLE_OAUTH_CLIENT_SECRET,
    }
    try:
        response = google_request("POST", settings.PUBLISHING_GOOGLE_OAUTH_TOKEN_URL, data=body)
        answer = response.json() if response.content else {}
    except (requests.RequestException, ValueError) as exc:
        log.warning("Google token endpoint: %s", type(exc).__name__)
        raise DriveAuthError(_("Couldn't reach Google; try again in a moment.")) from None
    if response.status_code != 200 or not answer.get("access_token"):
        code = answer.get("error", "") if isinstance(answer, dict) else ""
        log.warning("Google token endpoint answered %s %s", response.status_code, code)
        error = DriveAuthError(_("Google refused access to Drive; connect Google Drive again."))
        error.invalid_grant = code == "invalid_grant"
        raise error
    return answer


def _expiry(answer: dict):
    try:
        seconds = int(answer.get("expires_in", 3600))
    except (TypeError, ValueError):
        seconds = 3600
    return timezone.now() + timedelta(seconds=max(seconds, 0))


def authorization_finish(*, project: Project, code: str, verifier: str) -> Project:
    """Trade the code (with the session's PKCE verifier) for tokens and store them on ``project``."""
    if not code or not verifier:
        raise DriveAuthError(_("Google sent no authorization; connect Google Drive again."))
    answer = _token_call(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri(), "code_verifier": verifier}
    )
    if not answer.get("refresh_token"):
        raise DriveAuthError(
            _("Google gave no lasting access; remove Cradle in your Google account's settings and connect again.")
        )
    project.gdrive_refresh_token = answer["refresh_token"]
    project.gdrive_access_token = answer["access_token"]
    project.gdrive_token_expires_at = _expiry(answer)
    project.gdrive_account = _account_email(answer["access_token"])
    with transaction.atomic():
        project.save(update_fields=TOKEN_FIELDS)
        _audit_drive(project, "connected")
    return project


def _audit_drive(project: Project, action: str) -> None:
    # One name for the token fields: their values are secrets (encrypted at rest).
    audit_record(
        EventType.PROJECT_CHANGED,
        user=project.owner_id,
        obj=project,
        label=project.name,
        changed=["google_drive"],
        data={"google_drive": action},
    )


def _account_email(access_token: str) -> str:
    """Which Google account was connected, for the page; empty when Drive does not say."""
    url = f"{settings.PUBLISHING_GOOGLE_DRIVE_BASE_URL}/drive/v3/about"
    try:
        response = google_request(
            "GET", url, params={"fields": "user(emailAddress)"}, headers={"Authorization": f"Bearer {access_token}"}
        )
        if response.status_code == 200:
            return str(response.json().get("user", {}).get("emailAddress", ""))[:254]
    except (requests.RequestException, ValueError):
        pass
    return ""


def access_token(project: Project) -> str:
    """The project's access token, refreshed with its refresh token when it has expired.

    A refresh token Google no longer accepts (the owner withdrew access) disconnects the
    project, so the page asks to connect again instead of failing every scan the same way.
    """
    if not project.gdrive_refresh_token:
        raise DriveAuthError(_("Connect Google Drive on the project page first."))
    expires = project.gdrive_token_expires_at
    if project.gdrive_access_token and expires and expires - EXPIRY_MARGIN > timezone.now():
        return project.gdrive_access_token
    try:
        answer = _token_call({"grant_type": "refresh_token", "refresh_token": project.gdrive_refresh_token})
    except DriveAuthError as exc:
        if getattr(exc, "invalid_grant", False):
            _forget(project, "access_withdrawn")
            raise DriveAuthError(_("Google Drive access was withdrawn; connect Google Drive again.")) from None
        raise
    project.gdrive_access_token = answer["access_token"]
    project.gdrive_token_expires_at = _expiry(answer)
    # Two workers refreshing at once both get valid tokens; the last write wins, harmlessly.
    Project.objects.filter(pk=project.pk).update(
        gdrive_access_token=project.gdrive_access_token, gdrive_token_expires_at=project.gdrive_token_expires_at
    )
    return project.gdrive_access_token


def _forget(project: Project, action: str) -> None:
    for name in TOKEN_FIELDS:
        setattr(project, name, None if name == "gdrive_token_expires_at" else "")
    with transaction.atomic():
        project.save(update_fields=TOKEN_FIELDS)
        _audit_drive(project, action)


def disconnect(*, project: Project) -> Project:
    """Forget the project's Drive tokens and ask Google to revoke them (best effort)."""
    token = project.gdrive_refresh_token
    _forget(project, "disconnected")
    if token:
        try:
            google_request("POST", settings.PUBLISHING_GOOGLE_OAUTH_REVOKE_URL, data={"token": token}, timeout=5)
        except requests.RequestException as exc:  # forgotten here either way; Google lets it lapse
            log.warning("Google revoke: %s", type(exc).__name__)
    return project
