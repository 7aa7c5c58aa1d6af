"""The back office for trusted contacts and their requests: read them, refuse a pending request.

Read-only: contacts are named by their owner, requests made by the contacts and granted by the
job. Staff may refuse a pending request (through ``messaging.trusted``, logged as staff in the
message history and the audit log), for instance when an owner phones to say they cannot log in.
The address is shown (staff may need to check it), never searched in clear: search is by id or
by the owner's e-mail.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cradle_site.errors import StateError
from cradle_site.paginators import CappedCountPaginator
from messaging import history, trusted
from messaging.models import AccessRequest, TrustedAccess, TrustedContact
from ops.admin import ReadOnlyAdmin


class _ReadOnly(ReadOnlyAdmin):
    show_full_result_count = False
    paginator = CappedCountPaginator


@admin.register(TrustedContact)
class TrustedContactAdmin(_ReadOnly):
    list_display = ("id", "owner", "name", "wait_days", "created_at", "verified_at", "paused_at")
    list_filter = ("verified_at",)
    search_fields = ("=id", "=owner__email")
    list_select_related = ("owner",)
    ordering = ("-id",)
    fields = ("owner", "name", "email", "wait_days", "created_at", "verified_at", "paused_at")
    readonly_fields = fields


@admin.register(TrustedAccess)
class TrustedAccessAdmin(_ReadOnly):
    list_display = ("message", "mode", "updated_at")
    list_filter = ("mode",)
    search_fields = ("=message__id", "=message__owner__email")
    list_select_related = ("message",)
    ordering = ("-updated_at",)
    fields = ("message", "mode", "updated_at")
    readonly_fields = fields


@admin.register(AccessRequest)
class AccessRequestAdmin(_ReadOnly):
    list_display = ("id", "owner", "contact", "state", "requested_at", "grant_at", "decided_at", "messages_granted")
    list_filter = ("state",)
    search_fields = ("=id", "=owner__email")
    list_select_related = ("owner", "contact")
    ordering = ("-id",)
    fields = ("owner", "contact", "state", "requested_at", "grant_at", "decided_at", "messages_granted")
    readonly_fields = fields
    actions = ["refuse_requests"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Actions need the change permission; every field stays read-only.
        return request.user.is_staff and request.user.has_perm("messaging.change_accessrequest")

    @admin.action(description=_("Refuse the selected requests"))
    def refuse_requests(self, request, queryset):
        done = 0
        for access in queryset.select_related("contact"):
            try:
                trusted.access_refuse(request=access, actor=history.staff(request.user))
                done += 1
            except StateError:
                continue
        self.message_user(
            request,
            ngettext("%(n)d request refused.", "%(n)d requests refused.", done) % {"n": done},
            messages.SUCCESS if done else messages.WARNING,
        )
