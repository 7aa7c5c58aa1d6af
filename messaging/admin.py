"""The back office for messages. Lists never show content; actions call the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Min, Prefetch, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from cradle_site.admin_confirm import confirm_first
from cradle_site.errors import Busy, StateError
from cradle_site.paginators import CappedCountPaginator
from cradle_site.replica import ReplicaListMixin
from messaging import history, owner_contacts, services
from messaging.contacts import contact_hashes_any_type
from messaging.models import (
    MAX_LEVEL,
    CheckinLinkUse,
    Delivery,
    Message,
    OwnerContact,
    PingToken,
    Recipient,
    StaffAlarm,
    StatusLog,
    WarningSend,
)
from messaging.recipient_admin import AttachmentInline, DeliveryLinkInline, resend_links


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class RecipientInline(ReadOnlyInline):
    # Read-only like the rest of the page: an edit here would skip the contact checks, and a
    # recipient added or removed while delivering would never get the message or lose its record.
    model = Recipient
    fields = (
        "name",
        "contact_type",
        "contact",
        "tell_named",
        "named_notice_sent_at",
        "named_confirmed_at",
        "named_failed_at",
        "named_failed_reason",
    )
    readonly_fields = fields


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ("recipient", "state", "attempts", "last_error", "next_attempt_at", "delivered_at")
    readonly_fields = fields


class StatusLogInline(ReadOnlyInline):
    model = StatusLog
    fields = ("created_at", "status", "response", "details")
    readonly_fields = fields
    ordering = ("-created_at", "-id")


def _run(modeladmin, request, queryset, func, done_text) -> None:
    done, refused, busy = 0, 0, 0
    for message in queryset:
        try:
            func(message=message, actor=history.staff(request.user))
            done += 1  # the service records it in the audit log, by this staff member
        except StateError:
            refused += 1
        except Busy:
            busy += 1
    modeladmin.message_user(request, done_text % {"n": done})
    if busy:
        modeladmin.message_user(
            request, _("%(n)d message(s) were busy and not changed; please try again.") % {"n": busy}, messages.ERROR
        )
    if refused:
        modeladmin.message_user(
            request, _("%(n)d message(s) were not in a state that allows this.") % {"n": refused}, messages.WARNING
        )


class WarningEmailFilter(admin.SimpleListFilter):
    title = _("warning e-mail")
    parameter_name = "warning_email"

    def lookups(self, request, model_admin):
        return [
            ("failing", _("failing (the warning schedule waits)")),
            ("unverified", _("held: the owner's e-mail is not verified (the warning schedule waits)")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "failing":
            return queryset.warning_email_failing()
        if self.value() == "unverified":
            return owner_contacts.warnings_held(queryset)
        return queryset


class WarningLevelFilter(admin.SimpleListFilter):
    """The six levels as fixed choices: listing the distinct values would read every message."""

    title = _("warning level")
    parameter_name = "warning_level"

    def lookups(self, request, model_admin):
        return [(str(level), str(level)) for level in range(MAX_LEVEL + 1)]

    def queryset(self, request, queryset):
        if self.value() in {str(level) for level in range(MAX_LEVEL + 1)}:
            return queryset.filter(warning_level=int(self.value()))
        return queryset


class MessageChangeList(ChangeList):
    def get_results(self, request) -> None:
        super().get_results(request)
        rows = list(self.result_list)
        counts = Recipient.objects.counts_by_message([m.pk for m in rows])
        for message in rows:
            message.recipient_total = counts.get(message.pk, 0)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "owner",
        "state",
        "warning_level",
        "next_warning_date",
        "last_warning_at",
        "recipient_count",
        "sealed",
        "created_at",
    )
    list_filter = ("state", WarningLevelFilter, "is_active", WarningEmailFilter, "sealed")
    # Newest first by the primary key, which ids give in creation order: no sort at all. With
    # the owner joined in for -created_at, MariaDB read the users first and sorted every
    # message in a temporary table (0.35 s at 100,000 messages); the owners of the shown rows
    # come from one IN query instead (an empty tuple: no select_related of list_display's FK).
    ordering = ("-id",)
    list_select_related = ()
    # Exact keys only (see get_search_results): a LIKE '%…%' would scan every row.
    search_fields = ("=id", "=owner__email")
    search_help_text = _("A message number, the owner's e-mail address or a recipient's exact address.")
    raw_id_fields = ("owner",)
    # No date_hierarchy: its year/month links are a DISTINCT over every message's date.
    show_full_result_count = False
    paginator = CappedCountPaginator
    # Content is private: staff see the metadata and the ladder, never the text.
    fields = (
        "owner",
        "state",
        "is_active",
        "initial_delay_months",
        "activity_resets",
        "ladder_preset",
        "ladder_seconds",
        "paused_until",
        "include_text_in_notice",
        "attachments_keep_days",
        # Sealed: the text is ciphertext only the recipients' passphrase opens; staff see that it is sealed.
        "sealed",
        "warning_level",
        "cycle_started_at",
        "next_warning_date",
        "last_warning_at",
        "created_at",
        "revoked_at",
        "delivered_at",
        "warning_email_due_at",
        "warning_email_attempts",
        "warning_email_error",
    )
    # Read-only: every change goes through the actions, which call the services.
    readonly_fields = fields
    inlines = [RecipientInline, DeliveryInline, AttachmentInline, StatusLogInline]
    actions = ["reset_messages", "revoke_messages", "retry_deliveries"]

    def get_queryset(self, request):
        owners = Prefetch("owner", queryset=User.objects.only("id", "username"))
        return super().get_queryset(request).defer("title", "revocation_key_hash").prefetch_related(owners)

    def get_changelist(self, request, **kwargs):
        return MessageChangeList

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        return queryset.filter(Q(owner__email__iexact=term) | Q(pk__in=_messages_with_address(term))), False

    def has_add_permission(self, request) -> bool:
        # Messages are written by their owners (pages or API), not by staff.
        return False

    @admin.display(description=_("recipients"))
    def recipient_count(self, obj: Message) -> int:
        return obj.recipient_total

    @admin.action(description=_("Reset the selected messages (back to level 0)"))
    def reset_messages(self, request, queryset):
        _run(self, request, queryset, services.message_reset, _("%(n)d message(s) reset."))

    @admin.action(description=_("Revoke the selected messages"))
    @confirm_first(consequence=_("Revoking cannot be undone: these messages will never be delivered."))
    def revoke_messages(self, request, queryset):
        _run(self, request, queryset, services.message_revoke, _("%(n)d message(s) revoked."))

    @admin.action(description=_("Retry failed deliveries of the selected messages"))
    def retry_deliveries(self, request, queryset):
        failed = Delivery.objects.filter(message__in=queryset, state=Delivery.State.FAILED)
        count = sum(services.delivery_retry(delivery=d) for d in failed)
        self.message_user(
            request, ngettext("%(n)d delivery queued again.", "%(n)d deliveries queued again.", count) % {"n": count}
        )


class NeedsStaffFilter(admin.SimpleListFilter):
    """The deliveries behind the staff alarm (and /healthz?strict=1): refused for good, or overdue."""

    title = _("needs staff")
    parameter_name = "needs_staff"
    ANY = "any"

    def lookups(self, request, model_admin):
        return [
            (self.ANY, _("refused for good or not sent in time")),
            (StaffAlarm.Reason.REFUSED, StaffAlarm.Reason.REFUSED.label),
            (StaffAlarm.Reason.OVERDUE, StaffAlarm.Reason.OVERDUE.label),
        ]

    def queryset(self, request, queryset):
        return {
            self.ANY: queryset.needing_staff,
            StaffAlarm.Reason.REFUSED: queryset.refused,
            StaffAlarm.Reason.OVERDUE: queryset.overdue,
        }.get(self.value(), queryset.all)()


def _messages_with_address(term: str) -> list[int]:
    """Ids of the messages with a recipient at exactly this address (as normalised for comparing).

    Contacts are encrypted, so the search is by their keyed hash (``recipient_contact_hash_idx``),
    never a LIKE over ciphertext; capped, as a search result page is.
    """
    rows = Recipient.objects.filter(contact_hash__in=contact_hashes_any_type(term))
    return list(rows.values_list("message_id", flat=True)[:ADDRESS_SEARCH_LIMIT])


ADDRESS_SEARCH_LIMIT = 1000


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "message",
        "recipient",
        "state",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "first_opened",
        "short_error",
    )
    list_filter = (NeedsStaffFilter, "state")
    list_select_related = ("message", "recipient")
    search_fields = ("=message__id", "recipient__name")
    search_help_text = _("A message number, a recipient's name or a recipient's exact address.")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["retry", "resend_links"]
    inlines = [DeliveryLinkInline]
    resend_links = resend_links  # messaging.recipient_admin: "Send the recipients a new link"

    def get_queryset(self, request):
        # When the recipient first opened their page, by any of their links: one aggregate, no query per row.
        return super().get_queryset(request).annotate(first_opened_at=Min("links__first_opened_at"))

    @admin.display(description=_("first opened"), ordering="first_opened_at")
    def first_opened(self, obj: Delivery):
        return obj.first_opened_at

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return found, may_have_duplicates
        # The contact is encrypted: an exact address is found by its keyed hash.
        by_address = queryset.filter(recipient__contact_hash__in=contact_hashes_any_type(term))
        return found | by_address, may_have_duplicates

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("last error"))
    def short_error(self, obj: Delivery) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("Retry the selected failed deliveries"))
    def retry(self, request, queryset):
        count = sum(services.delivery_retry(delivery=d) for d in queryset)
        self.message_user(
            request, ngettext("%(n)d delivery queued again.", "%(n)d deliveries queued again.", count) % {"n": count}
        )


@admin.register(StatusLog)
class StatusLogAdmin(ReplicaListMixin, admin.ModelAdmin):
    list_display = ("id", "message", "status", "response", "created_at", "details")
    list_filter = ("status", "response")
    search_fields = ("=message__id",)
    date_hierarchy = "created_at"
    list_select_related = ("message",)
    readonly_fields = [f.name for f in StatusLog._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StaffAlarm)
class StaffAlarmAdmin(admin.ModelAdmin):
    list_display = ("id", "delivery", "message", "level", "reason", "state", "attempts", "created_at", "sent_at")
    list_filter = ("reason", "state")
    search_fields = ("=delivery__id", "=delivery__message__id", "=message__id")
    list_select_related = ("delivery", "message")
    readonly_fields = [f.name for f in StaffAlarm._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PingToken)
class PingTokenAdmin(admin.ModelAdmin):
    """Read-only: the secret is never here (only its hash); staff may delete one, which stops the URL
    (the owner's security activity says so: accounts.security_events' admin hook)."""

    list_display = ("id", "owner", "created_at", "last_used_at")
    search_fields = ("owner__username", "=owner__email")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    exclude = ("token_hash",)
    readonly_fields = ("owner", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CheckinLinkUse)
class CheckinLinkUseAdmin(ReplicaListMixin, admin.ModelAdmin):
    """Read-only: which warning steps were answered through their e-mail link (messaging.links)."""

    list_display = ("id", "message", "level", "cycle_started_at", "used_at")
    search_fields = ("=message__id",)
    list_select_related = ("message",)
    readonly_fields = ("message", "level", "cycle_started_at", "used_at")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


from messaging import pause_admin, trusted_admin  # noqa: E402,F401  (register PauseAdmin, the trusted contacts' admins)


class _VerifiedFilter(admin.SimpleListFilter):
    title = _("verified")
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        return (("yes", _("yes")), ("no", _("no")), ("failing", _("refused for good")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(verified_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(verified_at__isnull=True)
        if self.value() == "failing":
            return queryset.filter(failing_since__isnull=False)
        return queryset


@admin.register(OwnerContact)
class OwnerContactAdmin(admin.ModelAdmin):
    """The owners' warning contacts. Staff may fix a label or level, or delete a contact; adding one
    is the owner's (it needs a code only the contact receives). The code's hash is never shown."""

    list_display = ("id", "owner", "kind", "label", "first_level", "verified_at", "failing_since", "created_at")
    list_filter = ("kind", _VerifiedFilter)
    search_fields = ("owner__username", "=owner__email", "=id")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    exclude = ("code_hash", "address_hash")
    readonly_fields = (
        "owner",
        "kind",
        "address",
        "verified_at",
        "code_sent_at",
        "failing_since",
        "failing_error",
        "created_at",
    )
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WarningSend)
class WarningSendAdmin(admin.ModelAdmin):
    """Read-only: each contact's outcome of each warning (messaging.escalation)."""

    list_display = (
        "id",
        "message",
        "level",
        "contact_key",
        "state",
        "attempts",
        "error_kind",
        "accepted_at",
        "permanent_since",
    )
    list_filter = ("state", "error_kind", "level")
    search_fields = ("=message__id",)
    list_select_related = ("message",)
    readonly_fields = [f.name for f in WarningSend._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
