from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/<int:pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:pk>/export.csv", views.export_csv, {"kind": "publishing"}, name="project_export"),
    path("publishing/export.csv", views.export_csv, {"kind": "publishing"}, name="publishing_export"),
    path("messages/export.csv", views.export_csv, {"kind": "messages"}, name="messages_export"),
]
