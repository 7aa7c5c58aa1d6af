"""Connected accounts of a project on the open networks (issue 19): Mastodon and Bluesky.

A project's X account stays where it always was, on the project itself (its OAuth 2.0
token or four OAuth 1.0a keys): a task with no ``account`` is an X post exactly as before,
so existing data keeps its behaviour. A post written for several networks becomes one task
per chosen target (``publishing.fanout``): X as the project's task, and one task per
``NetworkAccount``, each with its own log, retries, lease and statistics.

Secrets are encrypted at rest with the site's Fernet keys, like the X tokens (and rotated
with them: ``ops.rotation`` finds every ``EncryptedTextField``): a Mastodon OAuth access
token; a Bluesky app password and the session (access and refresh JWTs) the client keeps,
so a worker does not log in for every run (Bluesky allows 30 log-ins per five minutes).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site.fields import EncryptedTextField
from cradle_site.querysets import OwnedQuerySet
from publishing.models import Network  # imported at the end of publishing.models, after Network


class NetworkAccountQuerySet(OwnedQuerySet):
    owner_path = "project__owner"

    def live(self):
        """Accounts whose copies are claimed now: connected, and their project not paused."""
        return self.filter(needs_reconnect=False, project__paused=False, project__archived_at__isnull=True)


class NetworkAccount(models.Model):
    Network = Network  # one vocabulary, defined beside Project (publishing.models)

    class Visibility(models.TextChoices):  # Mastodon's
        PUBLIC = "public", _("Public")
        UNLISTED = "unlisted", _("Unlisted")
        PRIVATE = "private", _("Followers only")

    project = models.ForeignKey(
        "publishing.Project", on_delete=models.CASCADE, related_name="accounts", verbose_name=_("project")
    )
    network = models.CharField(_("network"), max_length=20, choices=Network.choices)
    # Mastodon: the instance's base URL (user input: checked by cradle_site.outbound at every
    # request). Bluesky: empty, the operator's PDS (PUBLISHING_BLUESKY_PDS_URL).
    instance_url = models.CharField(_("instance"), max_length=300, blank=True)
    handle = models.CharField(_("handle"), max_length=300)
    remote_id = models.CharField(_("account id on the network"), max_length=300, blank=True)  # Mastodon id, Bluesky DID
    access_token = EncryptedTextField(_("access token"), blank=True)  # Mastodon
    app_password = EncryptedTextField(_("app password"), blank=True)  # Bluesky
    session = EncryptedTextField(_("session"), blank=True, editable=False)  # Bluesky, atproto's session string
    # The instance's own limits from /api/v2/instance (Mastodon): max_characters,
    # characters_reserved_per_url, max_media_attachments.
    limits = models.JSONField(_("limits"), default=dict, blank=True)
    default_visibility = models.CharField(
        _("visibility"), max_length=20, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    # Set when the network answered 401: this account's copies wait for a reconnect; the
    # project's other networks go on.
    needs_reconnect = models.BooleanField(_("needs reconnecting"), default=False)
    created_at = models.DateTimeField(_("connected at"), default=timezone.now, editable=False)

    objects = NetworkAccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("connected account")
        verbose_name_plural = _("connected accounts")
        ordering = ["project_id", "network", "handle"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "network", "instance_url", "handle"], name="uniq_account_project_network_handle"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_network_display()}: {self.handle}"

    @property
    def credentials_hint(self) -> str:
        secret = self.access_token or self.app_password
        return "…" + secret[-4:] if secret else ""


class MastodonApp(models.Model):
    """This site's OAuth client on one Mastodon instance (``POST /api/v1/apps``), registered
    the first time an owner connects an account there and reused for every later one: an
    instance keeps every app it is given, so registering per connection would leave hundreds.
    The registration is bound to its redirect URI and scopes, so a change of either (a new
    ``SITE_URL``) registers again. Site data, not an owner's: no audit event, no owner."""

    # Short enough for one unique index on MySQL (utf8mb4: 4 bytes a character, 3,072 a key).
    instance_url = models.CharField(_("instance"), max_length=255)
    redirect_uri = models.CharField(_("redirect URI"), max_length=255)
    scopes = models.CharField(_("scopes"), max_length=100)
    client_id = models.CharField(_("client id"), max_length=200)
    client_secret = EncryptedTextField(_("client secret"))
    created_at = models.DateTimeField(_("registered at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("Mastodon app registration")
        verbose_name_plural = _("Mastodon app registrations")
        constraints = [
            models.UniqueConstraint(fields=["instance_url", "redirect_uri", "scopes"], name="uniq_mastodon_app"),
        ]

    def __str__(self) -> str:
        return self.instance_url
