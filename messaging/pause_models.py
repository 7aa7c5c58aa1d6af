"""A pause ("away until ..."): the owner's warnings, for every message or one, wait until ``until``.

One row per pause the owner set; it is in force while ``ended_at`` is empty and ``until`` is
ahead. The rows are the record (pages, API, admin); what the sweep and the senders read is
``Message.paused_until``, written with the row under the message's lock (messaging.pauses).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site.querysets import OwnedQuerySet


class PauseQuerySet(OwnedQuerySet):
    owner_path = "owner"

    def in_force(self, now=None) -> PauseQuerySet:
        return self.filter(ended_at__isnull=True, until__gt=now or timezone.now())


class Pause(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pauses", verbose_name=_("owner")
    )
    # Empty: every message of the owner (those written during the pause too).
    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="pauses",
        verbose_name=_("message"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    until = models.DateTimeField(_("paused until"))
    ended_at = models.DateTimeField(_("ended early at"), null=True, blank=True)

    objects = PauseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        indexes = [models.Index(fields=["owner", "ended_at", "until"], name="pause_owner_force_idx")]

    def __str__(self) -> str:
        return f"Pause #{self.pk}"

    @property
    def covers_all(self) -> bool:
        return self.message_id is None
