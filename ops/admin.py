"""The audit log in the back office: read-only, for every account (staff see everything)."""

from django.contrib import admin

from cradle_site.paginators import CappedCountPaginator
from ops.audit_models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: events are appended by ``ops.audit.audit_record`` and never edited or deleted."""

    list_display = ("created_at", "user", "event_type", "actor_kind", "actor_label", "object_type", "object_id", "ip")
    list_filter = ("event_type", "actor_kind", "object_type", ("created_at", admin.DateFieldListFilter))
    # Exact matches and prefixes only: a LIKE '%…%' over a big table would scan every row.
    search_fields = ("=user__email", "=object_id", "^object_label", "=actor_label")

    list_select_related = ("user",)
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    paginator = CappedCountPaginator
    fields = (
        "created_at",
        "user",
        "event_type",
        "actor_kind",
        "actor",
        "actor_label",
        "object_type",
        "object_id",
        "object_label",
        "ip",
        "user_agent",
        "extra_data",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
