from django.urls import path

from ops import audit_views

app_name = "ops"

urlpatterns = [
    path("activity/", audit_views.activity, name="activity"),
    path("activity.csv", audit_views.activity_csv, name="activity_csv"),
]
