from django.urls import path

from publishing import views, views_calendar, views_composer, views_networks, views_removal, views_sources

app_name = "publishing"

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("projects/<int:pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:pk>/credentials/", views.project_credentials, name="project_credentials"),
    path("projects/<int:pk>/alert-webhook-secret/", views.alert_webhook_secret, name="alert_webhook_secret"),
    path("projects/<int:pk>/alerts/<int:alert_id>/dismiss/", views.alert_dismiss, name="alert_dismiss"),
    path("projects/<int:pk>/sources/", views.source_add, name="source_add"),
    path("projects/<int:pk>/drive/connect/", views.drive_connect, name="drive_connect"),
    path("projects/<int:pk>/drive/disconnect/", views.drive_disconnect, name="drive_disconnect"),
    path("drive/callback/", views.drive_callback, name="drive_callback"),
    path("projects/<int:pk>/x/connect/", views.x_connect, name="x_connect"),
    path("projects/<int:pk>/x/disconnect/", views.x_disconnect, name="x_disconnect"),
    path("x/callback/", views.x_callback, name="x_callback"),
    path("projects/<int:pk>/mastodon/connect/", views_networks.mastodon_connect, name="mastodon_connect"),
    path("mastodon/callback/", views_networks.mastodon_callback, name="mastodon_callback"),
    path("projects/<int:pk>/bluesky/connect/", views_networks.bluesky_connect, name="bluesky_connect"),
    path("network-accounts/<int:pk>/disconnect/", views_networks.account_disconnect, name="account_disconnect"),
    path("projects/<int:pk>/archive/", views_removal.project_archive, name="project_archive"),
    path("projects/<int:pk>/delete/", views_removal.project_delete, name="project_delete"),
    path("sources/<int:pk>/", views_sources.source_edit, name="source_edit"),
    path("sources/<int:pk>/preview/", views_sources.source_template_preview, name="source_template_preview"),
    path("sources/<int:pk>/delete/", views_sources.source_delete, name="source_delete"),
    path("sources/<int:pk>/scan/", views.source_scan_now, name="source_scan"),
    path("sources/<int:pk>/scan/status/", views.source_scan_status, name="source_scan_status"),
    path("queue/", views.task_list, name="task_list"),
    path("queue/<int:pk>/<str:action>/", views.task_action, name="task_action"),
    path("calendar/", views_calendar.calendar, name="calendar"),
    path("calendar/move/<int:pk>/", views_calendar.calendar_move, name="calendar_move"),
    path("logs/", views.log_list, name="log_list"),
    path("compose/", views_composer.compose, name="compose"),
    path("posts/<int:pk>/", views_composer.post_preview, name="post_preview"),
    path("posts/<int:pk>/edit/", views_composer.post_edit, name="post_edit"),
    path("posts/<int:pk>/delete/", views_composer.post_delete, name="post_delete"),
    path("posts/<int:pk>/duplicate/", views_composer.post_duplicate, name="post_duplicate"),
    path("media/<path:path>", views_composer.media_file, name="media_file"),
]
