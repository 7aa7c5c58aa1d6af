from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts import (  # noqa: F401  (their signal receivers)
            api_schema,  # noqa: F401  (registers the OpenAPI auth scheme)
            security_events,
            user_sessions,
        )
