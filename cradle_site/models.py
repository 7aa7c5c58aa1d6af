from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When a periodic job last ran (see ``cradle_site.health``)."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    last_beat = models.DateTimeField(verbose_name=_("last beat"))
    beats = models.PositiveBigIntegerField(default=0, verbose_name=_("beats"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_beat:%Y-%m-%d %H:%M:%S}"


class RateBucket(models.Model):
    """One counter of ``cradle_site.ratelimit`` when the database holds them (no Redis).

    ``key`` is an HMAC of the scope, the identity (an address, a normalised account name or
    e-mail) and the window length, so no address or name is stored; ``hits`` counts within the
    window that began at ``window_start``. Rows past ``expires_at`` are dead and are deleted
    lazily by the limiter itself.
    """

    key = models.CharField(max_length=64, primary_key=True, verbose_name=_("counter id"))
    window_start = models.DateTimeField(verbose_name=_("window start"))
    hits = models.PositiveIntegerField(default=0, verbose_name=_("hits"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("expires at"))

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.hits} since {self.window_start:%H:%M:%S}"
