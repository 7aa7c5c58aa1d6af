"""The audit log and the restore drills in the back office: both read-only."""

from django.apps import apps
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cradle_site.paginators import CappedCountPaginator
from cradle_site.replica import ReplicaListMixin
from ops.audit_models import AuditEvent
from ops.models import RestoreDrill


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the code (audit events, restore drills): staff look, never change."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ObjectTypeFilter(admin.SimpleListFilter):
    """The kinds of object events name, by the model's name, and "none" for events about an
    account or the site as a whole (Django's own filter would show that one as an empty link)."""

    title = _("object type")
    parameter_name = "object_type"
    NONE = "none"

    def lookups(self, request, model_admin):
        # DISTINCT over the (object_type, object_id) index: a short walk, not a table scan.
        types = AuditEvent._base_manager.order_by("object_type").values_list("object_type", flat=True).distinct()
        choices = []
        for label in types:
            if not label:
                choices.append((self.NONE, _("none (the account or the site)")))
                continue
            try:
                choices.append((label, apps.get_model(label)._meta.verbose_name))
            except (LookupError, ValueError):
                choices.append((label, label))  # a model that is gone: its name as stored
        return choices

    def queryset(self, request, queryset):
        if self.value() == self.NONE:
            return queryset.filter(object_type="")
        if self.value():
            return queryset.filter(object_type=self.value())
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: events are appended by ``ops.audit.audit_record`` and never edited or deleted."""

    list_display = ("created_at", "user", "event_type", "actor_kind", "actor_label", "object_type", "object_id", "ip")
    list_filter = ("event_type", "actor_kind", ObjectTypeFilter, ("created_at", admin.DateFieldListFilter))
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


@admin.register(RestoreDrill)
class RestoreDrillAdmin(ReplicaListMixin, ReadOnlyAdmin):
    """Read-only: drills are written by ``backup_verify`` only."""

    list_display = ("started_at", "ok", "backup_name", "tables", "rows", "sampled", "binlogs", "seconds", "detail")
    list_filter = ("ok",)
    readonly_fields = [field.name for field in RestoreDrill._meta.fields]
