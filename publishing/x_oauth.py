"""A project posts as its owner's X account, connected by OAuth 2.0.

The owner presses "Connect X" and says yes on X's screen: the authorization code flow with
PKCE (``cradle_site.oauth_pkce`` holds the state and verifier in the owner's session), the
scopes below, and this site as a confidential client (HTTP Basic with the client secret at
the token endpoint, as X requires of one). ``offline.access`` brings a refresh token.

Tokens: both stored encrypted (``EncryptedTextField``). X's access token lives two hours;
``access_token`` refreshes it ``EXPIRY_MARGIN`` before it runs out. X *rotates* the refresh
token: each refresh spends the old one, so two workers refreshing at once would leave the
loser holding a spent token and an ``invalid_grant`` that looks like a revoked grant. The
refresh therefore runs under a row lock on the project (``select_for_update``), and the
second worker finds the first one's fresh token instead of refreshing again.

Revoked: a refresh X refuses with ``invalid_grant``, or a 401 to a post with a fresh token,
sets ``needs_credentials`` (``outcomes``: the queue pauses and the page says "Reconnect").
Connecting again lifts it.

The pasted OAuth 1.0a keys stay as the fallback. What we found in X's current docs: posting
(``POST /2/tweets``) and media (``POST /2/media/upload``, scope ``media.write``) both take an
OAuth 2.0 user token; the v1.1 upload that needed OAuth 1.0a is deprecated. tweepy 4.17 still
uploads through v1.1 only, so a project with the four keys keeps uploading that way, and a
project connected by OAuth 2.0 alone uploads images and GIFs through v2 (``publishers``);
a video still needs the keys (its chunked v2 upload is not built).
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
from publishing import alerts
from publishing.models import Project
from publishing.x_http import x_session

log = logging.getLogger(__name__)
SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
SESSION_KEY = "publishing_x_oauth"
TOKEN_URL = "https://api.x.com/2/oauth2/token"
REVOKE_URL = "https://api.x.com/2/oauth2/revoke"
ME_URL = "https://api.x.com/2/users/me"
EXPIRY_MARGIN = timedelta(minutes=5)
TOKEN_FIELDS = ["x_oauth_refresh_token", "x_oauth_access_token", "x_oauth_expires_at", "x_oauth_account"]


class XAuthError(Exception):
    """Connecting or refreshing failed; the text is for the owner (no token, no X answer)."""

    def __init__(self, message: str, *, revoked: bool = False):
        super().__init__(message)
        self.revoked = revoked  # X no longer accepts the grant: connect again


AuthError = XAuthError  # the name publishing.views' shared connect/callback catches


def is_configured() -> bool:
    return bool(settings.PUBLISHING_X_OAUTH_CLIENT_ID and settings.PUBLISHING_X_OAUTH_CLIENT_SECRET)


def redirect_uri() -> str:
    return settings.SITE_URL + reverse("publishing:x_callback")


def authorization_start(*, session, project: Project) -> str:
    """Remember a fresh state and PKCE verifier in ``session``; return X's consent URL."""
    if not is_configured():
        raise XAuthError(_("Connecting X is not set up on this site; paste the four keys instead."))
    query = {
        "response_type": "code",
        "client_id": settings.PUBLISHING_X_OAUTH_CLIENT_ID,
        "redirect_uri": redirect_uri(),
        "scope": " ".join(SCOPES),
        **oauth_pkce.flow_start(session, SESSION_KEY, project_id=project.pk),
    }
    return f"{settings.PUBLISHING_X_OAUTH_AUTHORIZE_URL}?{urlencode(query)}"


def authorization_pending(*, session, state: str) -> tuple[int, str]:
    try:
        return oauth_pkce.flow_pending(session, SESSION_KEY, state=state)
    except oauth_pkce.FlowRefused:
        raise XAuthError(_("That answer from X does not belong to this session; connect X again.")) from None


def _token_call(data: dict) -> dict:
    """POST to X's token endpoint as this site's client; the JSON answer or XAuthError."""
    try:
        response = x_session().post(
            TOKEN_URL,
            data=data,
            auth=(settings.PUBLISHING_X_OAUTH_CLIENT_ID, settings.PUBLISHING_X_OAUTH_CLIENT_SECRET),
            timeout=settings.PUBLISHING_HTTP_TIMEOUT,
        )
        answer = response.json() if response.content else {}
    except (requests.RequestException, ValueError) as exc:
        log.warning("X token endpoint: %s", type(exc).__name__)
        raise XAuthError(_("Couldn't reach X; try again in a moment.")) from None
    if response.status_code != 200 or not isinstance(answer, dict) or not answer.get("access_token"):
        code = answer.get("error", "") if isinstance(answer, dict) else ""
        log.warning("X token endpoint answered %s %s", response.status_code, code)
        raise XAuthError(_("X refused access; connect X again."), revoked=code == "invalid_grant")
    return answer


def _expiry(answer: dict):
    try:
        seconds = int(answer.get("expires_in", 7200))
    except (TypeError, ValueError):
        seconds = 7200
    return timezone.now() + timedelta(seconds=max(seconds, 0))


def _username(access_token: str) -> str:
    """Which X account was connected, for the page; empty when X does not say."""
    try:
        response = x_session().get(
            ME_URL, headers={"Authorization": f"Bearer {access_token}"}, timeout=settings.PUBLISHING_HTTP_TIMEOUT
        )
        if response.status_code == 200:
            return str(response.json().get("data", {}).get("username", ""))[:64]
    except (requests.RequestException, ValueError):
        pass
    return ""


def authorization_finish(*, project: Project, code: str, verifier: str) -> Project:
    """Trade the code (with the session's PKCE verifier) for tokens; lift the "Reconnect" pause."""
    if not code or not verifier:
        raise XAuthError(_("X sent no authorization; connect X again."))
    answer = _token_call(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(),
            "code_verifier": verifier,
            "client_id": settings.PUBLISHING_X_OAUTH_CLIENT_ID,
        }
    )
    if not answer.get("refresh_token"):
        raise XAuthError(_("X gave no lasting access; connect X again."))
    project.x_oauth_refresh_token = answer["refresh_token"]
    project.x_oauth_access_token = answer["access_token"]
    project.x_oauth_expires_at = _expiry(answer)
    project.x_oauth_account = _username(answer["access_token"])
    project.needs_credentials = False
    with transaction.atomic():
        project.save(update_fields=[*TOKEN_FIELDS, "needs_credentials"])
        _audit_x(project, "connected")
        alerts.credentials_replaced(project.pk)  # a "Reconnect" incident ends here
    return project


def _audit_x(project: Project, action: str) -> None:
    # One name for the token fields: their values are secrets (encrypted at rest).
    audit_record(
        EventType.PROJECT_CHANGED,
        user=project.owner_id,
        obj=project,
        label=project.name,
        changed=["x_account"],
        data={"x_account": action},
    )


def _fresh(project: Project) -> bool:
    expires = project.x_oauth_expires_at
    return bool(project.x_oauth_access_token and expires and expires - EXPIRY_MARGIN > timezone.now())


def access_token(project: Project) -> str:
    """The project's X access token, refreshed (once, across workers) shortly before it expires."""
    if not project.x_oauth_refresh_token:
        raise XAuthError(_("Connect X on the project page first."), revoked=True)
    if _fresh(project):
        return project.x_oauth_access_token
    try:
        with transaction.atomic():
            current = Project.objects.select_for_update().only(*TOKEN_FIELDS).get(pk=project.pk)
            if not _fresh(current):  # otherwise another worker refreshed while this one waited
                answer = _token_call(
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": current.x_oauth_refresh_token,
                        "client_id": settings.PUBLISHING_X_OAUTH_CLIENT_ID,
                    }
                )
                current.x_oauth_access_token = answer["access_token"]
                current.x_oauth_refresh_token = answer.get("refresh_token") or current.x_oauth_refresh_token
                current.x_oauth_expires_at = _expiry(answer)
                current.save(update_fields=["x_oauth_access_token", "x_oauth_refresh_token", "x_oauth_expires_at"])
    except XAuthError as exc:
        if not exc.revoked:
            raise
        # Outside the rolled-back block: the "Reconnect" state must stay.
        with transaction.atomic():
            Project.objects.filter(pk=project.pk).update(needs_credentials=True)
            project.needs_credentials = True
            _audit_x(project, "withdrawn")
        raise XAuthError(_("X access was withdrawn; reconnect X."), revoked=True) from None
    for name in ("x_oauth_access_token", "x_oauth_refresh_token", "x_oauth_expires_at"):
        setattr(project, name, getattr(current, name))
    return project.x_oauth_access_token


def disconnect(*, project: Project) -> Project:
    """Forget the project's X tokens and ask X to revoke the grant (best effort)."""
    token = project.x_oauth_refresh_token
    for name in TOKEN_FIELDS:
        setattr(project, name, None if name == "x_oauth_expires_at" else "")
    project.needs_credentials = False
    with transaction.atomic():
        project.save(update_fields=[*TOKEN_FIELDS, "needs_credentials"])
        _audit_x(project, "disconnected")
        alerts.credentials_replaced(project.pk)
    if token:
        try:
            x_session().post(
                REVOKE_URL,
                data={"token": token, "token_type_hint": "refresh_token"},
                auth=(settings.PUBLISHING_X_OAUTH_CLIENT_ID, settings.PUBLISHING_X_OAUTH_CLIENT_SECRET),
                timeout=5,
            )
        except requests.RequestException as exc:  # forgotten here either way
            log.warning("X revoke: %s", type(exc).__name__)
    return project
