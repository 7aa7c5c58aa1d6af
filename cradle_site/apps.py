from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.core import checks
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp import apps as otp_totp_apps


class CradleSiteConfig(AppConfig):
    name = "cradle_site"
    verbose_name = _("Site")

    def ready(self) -> None:
        from cradle_site import checks as cradle_checks

        for check in cradle_checks.ALL:
            checks.register(check)


class OTPTOTPConfig(otp_totp_apps.DefaultConfig):
    """django-otp's TOTP devices under a name the back office can translate (its own
    config has none, so the admin showed "Otp_Totp")."""

    default = False  # named in INSTALLED_APPS, like CradleAdminConfig
    verbose_name = _("Authenticator apps")


class CradleAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` whose site's log-in goes through the same limiter as the site's."""

    default = False  # named in INSTALLED_APPS; "cradle_site" alone means the config above
    default_site = "accounts.admin_site.CradleAdminSite"
