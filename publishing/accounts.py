"""Connecting a project's Mastodon and Bluesky accounts (``NetworkAccount``): the services
pages, API and admin call. Each checks the credentials against the network before saving
(a token or password that does not work is a form error, not a failed post later) and
writes one audit event with the account's handle, never a secret.

A Mastodon instance URL is the owner's input: its syntax is checked here
(``cradle_site.outbound_rules.check_url_syntax``, https only) and every request to it goes
through ``cradle_site.outbound``'s session, which refuses private addresses where the
socket opens. A Bluesky account logs in at the operator's PDS (``PUBLISHING_BLUESKY_PDS_URL``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cradle_site.audit_vocabulary import EventType
from cradle_site.outbound import UnsafeURL, address_is_public, check_url_syntax
from cradle_site.outbound_rules import ip_literal
from ops.audit import audit_record
from publishing import alerts, networks
from publishing.models import Network, NetworkAccount, Project, PublishingTask
from publishing.publishers import PublishError

ErrorKind = networks.ErrorKind


def _refusal(network: str, error: PublishError, field: str) -> ValidationError:
    if error.kind == ErrorKind.AUTH:
        return ValidationError({field: _("%(network)s refused these credentials.") % {"network": network}})
    return ValidationError(
        {field: _("%(network)s could not be reached: try again in a moment.") % {"network": network}}
    )


def mastodon_instance_url(url: str) -> str:
    """The instance's base URL, normalised (``https://host``), or ``ValidationError``."""
    url = (url or "").strip().rstrip("/")
    if url and "://" not in url:
        url = "https://" + url
    try:
        check_url_syntax(url)
    except UnsafeURL as exc:
        raise ValidationError({"instance_url": str(exc)}) from None
    if not url.lower().startswith("https://") and not _allow_http():
        raise ValidationError({"instance_url": _("Give the instance's https:// address.")})
    # An address literal is judged here, at once; a name is judged where the socket opens
    # (cradle_site.outbound), so a name that resolves to a private address is refused too.
    address = ip_literal(urlsplit(url).hostname or "")
    if address is not None and not address_is_public(address) and not _allow_http():
        raise ValidationError({"instance_url": _("That is a private address, not a public Mastodon server.")})
    return url


def _allow_http() -> bool:
    from django.conf import settings

    return settings.OUTBOUND_ALLOW_PRIVATE  # a local double in development and tests


def _mastodon_limits(instance: dict) -> dict:
    statuses = (instance.get("configuration") or {}).get("statuses") or {}
    return {
        "version": str(instance.get("version") or "4.3.0").split("+")[0],
        "max_characters": statuses.get("max_characters") or networks.MASTODON_DEFAULT_LIMIT,
        "characters_reserved_per_url": statuses.get("characters_reserved_per_url") or networks.MASTODON_URL_WEIGHT,
        "max_media_attachments": statuses.get("max_media_attachments") or 4,
    }


def _save(account: NetworkAccount, *, label: str) -> NetworkAccount:
    try:
        with transaction.atomic():
            account.save()
            audit_record(
                EventType.NETWORK_ACCOUNT_CONNECTED,
                user=account.project.owner_id,
                obj=account,
                label=label,
                data={"network": account.network, "project_id": account.project_id},
            )
    except IntegrityError:
        raise ValidationError({"handle": _("This account is already connected to the project.")}) from None
    alerts.account_reconnected(account.project_id, account.pk)
    return account


def account_connect_mastodon(*, project: Project, instance_url: str, access_token: str) -> NetworkAccount:
    """Connect (or reconnect) a Mastodon account by its OAuth access token; reads the
    instance's limits from ``/api/v2/instance`` and the handle from ``verify_credentials``."""
    from publishing.network_publishers import mastodon_client

    url = mastodon_instance_url(instance_url)
    token = (access_token or "").strip()
    if not token:
        raise ValidationError({"access_token": _("This field is required.")})
    client = mastodon_client(url, token)
    try:
        limits = _mastodon_limits(dict(client.instance_v2()))
        me = client.account_verify_credentials()
    except Exception as exc:  # noqa: BLE001 - every failure is a form error
        raise _refusal("Mastodon", networks.classify_mastodon(exc, stage="post"), "access_token") from None
    handle = f"@{me['acct']}@{url.split('://', 1)[1]}" if "@" not in me["acct"] else f"@{me['acct']}"
    account = NetworkAccount.objects.filter(project=project, network=Network.MASTODON, instance_url=url, handle=handle)
    account = account.first() or NetworkAccount(
        project=project, network=Network.MASTODON, instance_url=url, handle=handle
    )
    account.access_token, account.remote_id, account.limits, account.needs_reconnect = (
        token,
        str(me["id"]),
        limits,
        False,
    )
    return _save(account, label=handle)


def account_connect_bluesky(*, project: Project, handle: str, app_password: str) -> NetworkAccount:
    """Connect (or reconnect) a Bluesky account by its handle and an app password."""
    from atproto_client.models.string_formats import is_valid_handle

    from publishing.network_publishers import BlueskyPublisher

    handle = (handle or "").strip().lstrip("@").lower()
    if not is_valid_handle(handle):
        raise ValidationError({"handle": _("Give the handle, like alice.bsky.social.")})
    password = (app_password or "").strip()
    if not password:
        raise ValidationError({"app_password": _("This field is required.")})
    account = NetworkAccount.objects.filter(project=project, network=Network.BLUESKY, instance_url="", handle=handle)
    account = account.first() or NetworkAccount(project=project, network=Network.BLUESKY, handle=handle)
    account.app_password, account.session, account.needs_reconnect = password, "", False
    publisher = BlueskyPublisher(account, save_session=False)
    try:
        publisher.login()
    except PublishError as error:
        raise _refusal("Bluesky", error, "app_password") from None
    account.remote_id = publisher.did
    account.session = publisher.client.export_session_string()
    return _save(account, label=handle)


def account_disconnect(*, account: NetworkAccount) -> None:
    """Forget the account; its queued and past copies go with it (their logs too)."""
    with transaction.atomic():
        audit_record(
            EventType.NETWORK_ACCOUNT_DISCONNECTED,
            user=account.project.owner_id,
            obj=account,
            label=account.handle,
            data={"network": account.network, "project_id": account.project_id},
        )
        # Through the tasks' own queryset first: it keeps ProjectTaskCount in step, which the
        # cascade of account.delete() (plain SQL DELETEs) would not.
        PublishingTask.objects.filter(account=account).delete()
        account.delete()
