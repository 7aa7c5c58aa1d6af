from django.apps import AppConfig


class CradleSiteConfig(AppConfig):
    name = "cradle_site"
    verbose_name = "Cradle site"
