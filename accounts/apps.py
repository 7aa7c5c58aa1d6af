from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # api_schema registers the OpenAPI auth scheme; the others their signal receivers.
        from accounts import api_schema, mfa, reauth, security_events, user_sessions  # noqa: F401
