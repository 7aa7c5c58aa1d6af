from django.db import models


class Heartbeat(models.Model):
    """When a periodic job last ran (see ``cradle_site.health``)."""

    name = models.CharField(max_length=100, unique=True)
    last_beat = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_beat:%Y-%m-%d %H:%M:%S}"


class RateBucket(models.Model):
    """One counter of ``cradle_site.ratelimit`` when the database holds them (no Redis).

    ``key`` is an HMAC of the scope, the identity (an address, a normalised account name or
    e-mail) and the window length, so no address or name is stored; ``hits`` counts within the
    window that began at ``window_start``. Rows past ``expires_at`` are dead and are deleted
    lazily by the limiter itself.
    """

    key = models.CharField(max_length=64, primary_key=True)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.hits} since {self.window_start:%H:%M:%S}"
