from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operations (backup, restore, restore drills, vacuum, purge, secret rotation)."""

    name = "ops"
    verbose_name = _("Operations")
