from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations (backup, restore, vacuum, purge, secret rotation); no models of its own."""

    name = "ops"
    verbose_name = "Operations"
