"""Connecting a Mastodon account by OAuth against the owner's own instance.

The owner types the instance (``mastodon.social``); this site registers itself there once
(``MastodonApp``: Mastodon.py's ``create_app``, the client secret encrypted at rest), sends
the owner to the instance's authorize URL with a ``state`` bound to their session and the
project (``cradle_site.oauth_pkce``: single use, ``STATE_MAX_AGE``), and the callback trades
the code for a token (Mastodon.py's ``log_in``) and hands it to
``accounts.account_connect_mastodon``, which reads the handle and the instance's limits and
writes the one audit event.

No PKCE: Mastodon.py's ``log_in`` sends no ``code_verifier``, and this site is a
confidential client (the secret never leaves the server), which is what the state and the
secret protect. The instance is user input: its URL is checked by
``accounts.mastodon_instance_url`` (syntax, https, no private IP literal) and every request
goes through ``cradle_site.outbound``'s session, which refuses a name that resolves to a
private or loopback address where the socket opens.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from cradle_site import oauth_pkce, outbound
from publishing import accounts
from publishing.models import MastodonApp, NetworkAccount, Project

log = logging.getLogger(__name__)
SESSION_KEY = "publishing_mastodon_oauth"
# What posting needs: the handle (verify_credentials), statuses and media. Nothing to read a timeline.
SCOPES = ["read:accounts", "write:statuses", "write:media"]
CLIENT_NAME = "Cradle"


class MastodonAuthError(Exception):
    """Connecting failed; the text is for the owner (never a token or the instance's answer)."""


AuthError = MastodonAuthError


def redirect_uri() -> str:
    return settings.SITE_URL + reverse("publishing:mastodon_callback")


def _client(instance_url: str, app: MastodonApp | None = None):
    from mastodon import Mastodon

    return Mastodon(
        client_id=app.client_id if app else None,
        client_secret=app.client_secret if app else None,
        api_base_url=instance_url,
        ratelimit_method="throw",
        request_timeout=settings.PUBLISHING_HTTP_TIMEOUT,
        # A version given, never fetched: with none known, Mastodon.py's log_in recurses
        # (retrieve_mastodon_version -> verify_minimum_version -> ...) on an instance it cannot ask.
        version_check_mode="created",
        mastodon_version="4.3.0",
        session=outbound.session(),
    )


def _unreachable() -> ValidationError:
    return ValidationError(
        {"instance_url": _("That instance could not be reached, or it is not a public Mastodon server.")}
    )


def app_for(instance_url: str) -> MastodonApp:
    """This site's registration on ``instance_url``: the cached one, or a new one (once)."""
    from mastodon import Mastodon

    key = {"instance_url": instance_url, "redirect_uri": redirect_uri(), "scopes": " ".join(SCOPES)}
    found = MastodonApp.objects.filter(**key).first()
    if found is not None:
        return found
    try:
        client_id, client_secret = Mastodon.create_app(
            CLIENT_NAME,
            scopes=SCOPES,
            redirect_uris=key["redirect_uri"],
            website=settings.SITE_URL or None,
            api_base_url=instance_url,
            request_timeout=settings.PUBLISHING_HTTP_TIMEOUT,
            session=outbound.session(),
        )
    except Exception as exc:  # noqa: BLE001 - refused address, no server, not Mastodon: one answer
        log.warning("Mastodon app registration failed: %s", type(exc).__name__)
        raise _unreachable() from None
    try:
        with transaction.atomic():
            return MastodonApp.objects.create(**key, client_id=client_id, client_secret=client_secret)
    except IntegrityError:  # another owner registered at the same moment: use theirs
        return MastodonApp.objects.get(**key)


def authorization_start(*, session, project: Project, instance_url: str) -> str:
    """Register (once), remember a fresh state for this session and project; the authorize URL."""
    url = accounts.mastodon_instance_url(instance_url)
    app = app_for(url)
    state = oauth_pkce.flow_start(session, SESSION_KEY, project_id=project.pk)["state"]
    session[SESSION_KEY] = {**session[SESSION_KEY], "instance": url}
    try:
        return _client(url, app).auth_request_url(
            redirect_uris=redirect_uri(), scopes=SCOPES, state=state, allow_http=settings.OUTBOUND_ALLOW_PRIVATE
        )
    except Exception as exc:  # noqa: BLE001
        log.warning("Mastodon authorize URL failed: %s", type(exc).__name__)
        session.pop(SESSION_KEY, None)
        raise _unreachable() from None


def authorization_pending(*, session, state: str) -> tuple[int, str]:
    """The project and instance of this session's own flow, if ``state`` is its state (used up)."""
    instance = str((session.get(SESSION_KEY) or {}).get("instance", ""))
    try:
        project_id, _verifier = oauth_pkce.flow_pending(session, SESSION_KEY, state=state)
    except oauth_pkce.FlowRefused:
        raise MastodonAuthError(
            _("That answer from Mastodon does not belong to this session; connect the account again.")
        ) from None
    return project_id, instance


def authorization_finish(*, project: Project, instance_url: str, code: str) -> NetworkAccount:
    """Trade the code for the owner's token and connect the account (one audit event)."""
    if not code:
        raise MastodonAuthError(_("Mastodon sent no authorization; connect the account again."))
    app = MastodonApp.objects.filter(
        instance_url=instance_url, redirect_uri=redirect_uri(), scopes=" ".join(SCOPES)
    ).first()
    if app is None:
        raise MastodonAuthError(_("Mastodon sent no authorization; connect the account again."))
    try:
        token = _client(instance_url, app).log_in(
            code=code, redirect_uri=redirect_uri(), scopes=SCOPES, allow_http=settings.OUTBOUND_ALLOW_PRIVATE
        )
    except Exception as exc:  # noqa: BLE001 - a refused code, a missing scope, no server
        log.warning("Mastodon token exchange failed: %s", type(exc).__name__)
        raise MastodonAuthError(_("Mastodon refused access; connect the account again.")) from None
    try:
        return accounts.account_connect_mastodon(project=project, instance_url=instance_url, access_token=token)
    except ValidationError as exc:
        raise MastodonAuthError(" ".join(exc.messages)) from None
