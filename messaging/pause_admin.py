"""The back office for pauses: see them, end one early (through ``messaging.pauses``, logged as staff)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cradle_site.errors import Busy, StateError
from cradle_site.paginators import CappedCountPaginator
from messaging import history, pauses
from messaging.models import Pause


@admin.register(Pause)
class PauseAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "message", "created_at", "until", "ended_at")
    list_filter = ("ended_at",)
    search_fields = ("=id", "=owner__email")
    raw_id_fields = ("owner", "message")
    list_select_related = ("owner",)
    ordering = ("-id",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    fields = ("owner", "message", "created_at", "until", "ended_at")
    # Read-only: a pause is started by its owner; staff can only end one (the owner is told).
    readonly_fields = fields
    actions = ["end_pauses"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("End the selected pauses now"))
    def end_pauses(self, request, queryset):
        done = 0
        for pause in queryset.select_related("owner", "message"):
            try:
                pauses.pause_end(pause=pause, actor=history.staff(request.user))
                done += 1
            except (StateError, Busy):
                continue
        self.message_user(
            request,
            ngettext("%(n)d pause ended.", "%(n)d pauses ended.", done) % {"n": done},
            messages.SUCCESS if done else messages.WARNING,
        )
