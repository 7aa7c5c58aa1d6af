"""Read-only back office for the statistics tables: they are computed, never edited."""

from django.contrib import admin

from analytics.models import AnalyticsHourly, MessageHourly


class _ReadOnly(admin.ModelAdmin):
    date_hierarchy = "hour_timestamp"
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AnalyticsHourly)
class AnalyticsHourlyAdmin(_ReadOnly):
    list_display = [
        "hour_timestamp",
        "project",
        "network",
        "posts_success",
        "posts_failed",
        "posts_skipped",
        "avg_duration",
    ]
    list_select_related = ["project"]
    list_filter = ["network", "hour_timestamp"]
    search_fields = ["project__name", "project__owner__username"]
    raw_id_fields = ["project"]


@admin.register(MessageHourly)
class MessageHourlyAdmin(_ReadOnly):
    list_display = ["hour_timestamp", "user", "warnings_1", "resets", "revocations", "deliveries", "delivery_failures"]
    list_select_related = ["user"]
    list_filter = ["hour_timestamp"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
