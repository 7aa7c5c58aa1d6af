from django.apps import AppConfig
from django.core import checks


class CradleSiteConfig(AppConfig):
    name = "cradle_site"
    verbose_name = "Cradle site"

    def ready(self) -> None:
        from cradle_site import checks as cradle_checks

        for check in cradle_checks.ALL:
            checks.register(check)
