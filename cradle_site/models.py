from django.db import models


class Heartbeat(models.Model):
    """When a periodic job last ran (see ``cradle_site.health``)."""

    name = models.CharField(max_length=100, unique=True)
    last_beat = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_beat:%Y-%m-%d %H:%M:%S}"
