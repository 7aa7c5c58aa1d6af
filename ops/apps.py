from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operations (backup, restore, restore drills, off-site copies, vacuum, purge, secret rotation) and the audit log."""

    name = "ops"
    verbose_name = _("Operations")

    def ready(self) -> None:
        from ops import audit  # noqa: F401  (receives accounts.signals.audit_event)
