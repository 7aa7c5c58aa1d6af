from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messages")

    def ready(self) -> None:
        from messaging import (
            activity,  # noqa: F401  (a log-in or an API call resets the messages that opted in)
            attachments,  # noqa: F401  (a deleted attachment row deletes its stored bytes)
            owner_contacts,  # noqa: F401  (releases held warnings when an owner verifies)
        )
