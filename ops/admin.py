from django.contrib import admin

from cradle_site.replica import ReplicaListMixin
from ops.models import RestoreDrill


@admin.register(RestoreDrill)
class RestoreDrillAdmin(ReplicaListMixin, admin.ModelAdmin):
    """Read-only: drills are written by ``backup_verify`` only."""

    list_display = ("started_at", "ok", "backup_name", "tables", "rows", "sampled", "binlogs", "seconds", "detail")
    list_filter = ("ok",)
    readonly_fields = [field.name for field in RestoreDrill._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
