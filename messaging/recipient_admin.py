"""The back office's view of the recipients' side: delivery links, attachments and named notices (read-only).

Staff see when each link was sent, until when it works and when it was first opened, and can
send a recipient a new link (``delivery_links.link_resend``); they never see a token. Of an
attachment they see the name, size, type and date: never its bytes (there is no download here).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cradle_site.admin_confirm import confirm_first
from messaging import delivery_links
from messaging.channels import ChannelError
from messaging.models import Attachment, DeliveryLink, NamedNotice


class _ReadOnly(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AttachmentInline(_ReadOnly):
    model = Attachment
    fields = ("name", "is_sealed", "size", "content_type", "created_at")
    readonly_fields = fields


class DeliveryLinkInline(_ReadOnly):
    model = DeliveryLink
    fields = ("reason", "created_at", "sent_at", "expires_at", "first_opened_at", "replaced_at")
    readonly_fields = fields


@admin.action(description=_("Send the recipients a new link to their delivery page"))
@confirm_first(
    consequence=_("Each recipient's older links stop opening their page; the new link goes to their own address.")
)
def resend_links(modeladmin, request, queryset) -> None:
    """``DeliveryAdmin.resend_links``: one ``link_resend`` per delivery (one audit event each)."""
    sent, refused, failed = 0, 0, 0
    for delivery in queryset.select_related("recipient", "message__owner"):
        try:
            delivery_links.link_resend(delivery=delivery, user=request.user)
            sent += 1
        except delivery_links.RenewRefused:
            refused += 1
        except ChannelError:
            failed += 1
    modeladmin.message_user(request, ngettext("%(n)d new link sent.", "%(n)d new links sent.", sent) % {"n": sent})
    if refused:
        modeladmin.message_user(
            request,
            _("%(n)d not sent: not delivered yet, revoked, or a link went out a few minutes ago.") % {"n": refused},
            messages.WARNING,
        )
    if failed:
        modeladmin.message_user(
            request, _("%(n)d could not be sent just now; try again later.") % {"n": failed}, messages.ERROR
        )


@admin.register(NamedNotice)
class NamedNoticeAdmin(admin.ModelAdmin):
    """Read-only: each "you are named" notice (messaging.named) and how its sends went; never its token.
    The owner sends one again from the message page; staff only look."""

    list_display = ("id", "message", "state", "attempts", "created_at", "sent_at", "confirmed_at")
    list_filter = ("state",)
    search_fields = ("=message__id",)
    list_select_related = ("message",)
    fields = ("message", "state", "attempts", "last_error", "next_attempt_at", "created_at", "sent_at", "confirmed_at")
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
