from django.urls import path

from ops import api

urlpatterns = [
    path("audit", api.AuditEventListView.as_view(), name="audit-list"),
]
