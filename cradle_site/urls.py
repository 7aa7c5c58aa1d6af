from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cradle_site import views
from messaging import delivery_views, owner_contact_views, ping_views, trusted_views

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("messaging.api_urls")),
    path("", include("publishing.api_urls")),
    path("", include("analytics.api_urls")),
    path("", include("ops.api_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page's <link rel=icon> says.
    path("favicon.ico", views.favicon, name="favicon"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    # The account's Activity page (its audit events) lives with the audit log in ops.
    path("accounts/", include("ops.urls")),
    path("messages/", include("messaging.urls")),
    # The personal check-in URL (messaging.ping_views): with or without a trailing slash,
    # since scripts are written by hand and a POST cannot be redirected.
    re_path(r"^ping/(?P<token>[^/]+)/?$", ping_views.ping, name="ping"),
    re_path(r"^ping/(?P<token>[^/]+)/(?P<message_id>[0-9]{1,18})/?$", ping_views.ping, name="ping_message"),
    path("telegram/webhook/<str:secret>", owner_contact_views.telegram_webhook, name="telegram_webhook"),
    # The recipients' delivery pages (messaging.delivery_views): short, since they are typed from e-mails too.
    path("d/<str:token>/", delivery_views.delivery_page, name="delivery_page"),
    # A trusted contact's own page (messaging.trusted_views): the token is the authority.
    path("t/<str:token>/", trusted_views.trusted_page, name="trusted_page"),
    path("t/<str:token>/request/", trusted_views.trusted_request, name="trusted_request"),
    path("t/<str:token>/pause/", trusted_views.trusted_pause, name="trusted_pause"),
    path("d/<str:token>/renew/", delivery_views.delivery_renew, name="delivery_renew"),
    path("d/<str:token>/files/<int:attachment_id>/", delivery_views.delivery_file, name="delivery_file"),
    path("publishing/", include("publishing.urls")),
    path("stats/", include("analytics.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from its own URL (?script) rather
    # than inline, so the page runs under the Content-Security-Policy's script-src 'self'.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs/swagger_ui.html"),
        name="api-docs",
    ),
]

# Unknown API paths answer in the API's error format, not with an HTML page.
handler404 = "cradle_site.views.not_found"

admin.site.site_header = _("Cradle back office")
admin.site.site_title = "Cradle"
if settings.DEBUG:
    admin.site.site_header = format_lazy("{} ({})", _("Cradle back office"), _("development"))
