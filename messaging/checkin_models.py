"""Answers without a log-in: the used check-in links, and each owner's personal check-in URL.

- ``CheckinLinkUse``: one row per warning step whose e-mail link was used. A link names a
  message, a warning level and a cycle (``messaging.links``); a RESET or the next warning makes
  it stale by itself, but a CONTINUE moves neither, so the use is recorded, in the answer's own
  transaction under the message's row lock. The unique (message, level, cycle) is the backstop:
  every copy of that step's link (a warning e-mail sent again after a relay error signs a new
  token with the same payload) is spent together.
- ``PingToken``: the secret in ``/ping/<token>`` (``messaging.ping``), at most one per owner,
  stored only as a keyed hash (shown once, like an API key); rotating replaces the row's hash.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CheckinLinkUse(models.Model):
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="checkin_link_uses", verbose_name=_("message")
    )
    level = models.PositiveSmallIntegerField(_("warning level"))
    cycle_started_at = models.DateTimeField(_("cycle started"))
    used_at = models.DateTimeField(_("used at"), default=timezone.now)

    class Meta:
        verbose_name = _("used check-in link")
        verbose_name_plural = _("used check-in links")
        constraints = [
            models.UniqueConstraint(fields=["message", "level", "cycle_started_at"], name="checkin_link_use_once"),
        ]

    def __str__(self) -> str:
        return f"check-in link of message {self.message_id}, level {self.level}"


class PingToken(models.Model):
    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ping_token", verbose_name=_("owner")
    )
    # HMAC-SHA256 of the secret (messaging.ping.token_hash): 192 random bits, so a fast keyed
    # hash is enough and a unique index finds the row.
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal check-in URL")
        verbose_name_plural = _("personal check-in URLs")

    def __str__(self) -> str:
        return f"check-in URL of user {self.owner_id}"
