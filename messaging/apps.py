from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        from messaging import owner_contacts  # noqa: F401  (releases held warnings when an owner verifies)
