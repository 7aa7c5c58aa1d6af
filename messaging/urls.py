from django.urls import path

from messaging import (
    attachment_views,
    checkin_views,
    named_views,
    owner_contact_views,
    pause_views,
    ping_views,
    preview_views,
    projection_views,
    views,
)

app_name = "messaging"

urlpatterns = [
    path("", views.message_list, name="message_list"),
    path("new/", views.message_create, name="message_create"),
    path("reset-all/", views.reset_all, name="reset_all"),
    path("<int:pk>/", views.message_detail, name="message_detail"),
    path("<int:pk>/edit/", views.message_edit, name="message_edit"),
    path("<int:pk>/recipients/<int:recipient_pk>/preview/", preview_views.recipient_preview, name="recipient_preview"),
    path("<int:pk>/recipients/<int:recipient_pk>/signing-secret/", views.recipient_secret, name="recipient_secret"),
    path("<int:pk>/recipients/<int:recipient_pk>/tell-named/", named_views.named_resend, name="named_resend"),
    path("projection/", projection_views.projection_view, name="projection"),
    path("pause/", pause_views.pause_settings, name="pause_settings"),
    path("pauses/<int:pause_pk>/end/", pause_views.pause_end, name="pause_end"),
    path("<int:pk>/pause/", pause_views.message_pause, name="message_pause"),
    path("<int:pk>/attachments/", attachment_views.attachment_upload, name="attachment_upload"),
    path("<int:pk>/attachments/<int:attachment_id>/", attachment_views.attachment_download, name="attachment_download"),
    path(
        "<int:pk>/attachments/<int:attachment_id>/remove/",
        attachment_views.attachment_remove,
        name="attachment_remove",
    ),
    path("<int:pk>/<str:action>/", views.message_action, name="message_action"),
    path("check-in/<str:token>/", checkin_views.checkin, name="checkin"),
    path("check-in/<str:token>/revoke/", checkin_views.checkin_revoke, name="checkin_revoke"),
    path("check-in-url/", ping_views.ping_settings, name="ping_settings"),
    path("revoke/", views.public_revoke, name="public_revoke"),
    path("named/<str:token>/", named_views.named_confirm, name="named_confirm"),
    path("contacts/", owner_contact_views.contact_list, name="owner_contacts"),
    path("contacts/add/", owner_contact_views.contact_add, name="owner_contact_add"),
    path("contacts/test-warning/", owner_contact_views.test_warning, name="owner_contacts_test"),
    path("contacts/<int:pk>/verify/", owner_contact_views.contact_verify, name="owner_contact_verify"),
    path("contacts/<int:pk>/resend/", owner_contact_views.contact_resend, name="owner_contact_resend"),
    path("contacts/<int:pk>/level/", owner_contact_views.contact_level, name="owner_contact_level"),
    path("contacts/<int:pk>/remove/", owner_contact_views.contact_remove, name="owner_contact_remove"),
]
