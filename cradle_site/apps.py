from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.core import checks


class CradleSiteConfig(AppConfig):
    name = "cradle_site"
    verbose_name = "Cradle site"

    def ready(self) -> None:
        from cradle_site import checks as cradle_checks

        for check in cradle_checks.ALL:
            checks.register(check)


class CradleAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` whose site's log-in goes through the same limiter as the site's."""

    default = False  # named in INSTALLED_APPS; "cradle_site" alone means the config above
    default_site = "accounts.admin_site.CradleAdminSite"
