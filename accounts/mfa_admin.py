"""Second factors in the back office: staff see who has which and may remove a lost one.

Staff never see a TOTP secret or add a factor for someone (django-otp's own admin shows the
key and a QR code; it is replaced here). Removing a user's last factor also drops their
recovery codes (``accounts.mfa``).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.mfa_models import WebAuthnCredential

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


class _FactorAdmin(admin.ModelAdmin):
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "name")
    raw_id_fields = ("user",)

    def has_add_permission(self, request) -> bool:
        return False  # a factor is set up by its owner, who holds the device

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        mfa.forget_recovery_codes_without_factor(obj.user)

    def delete_queryset(self, request, queryset) -> None:
        users = {row.user for row in queryset.select_related("user")}
        super().delete_queryset(request, queryset)
        for user in users:
            mfa.forget_recovery_codes_without_factor(user)


class _ConfirmedFilter(admin.BooleanFieldListFilter):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("confirmed")


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(_FactorAdmin):
    """django-otp names its fields in plain English (no gettext): the columns and the read-only
    fields are named here, so the Chinese back office reads Chinese."""

    list_display = ("device_user", "device_name", "device_confirmed", "device_created_at", "device_last_used_at")
    list_filter = (("confirmed", _ConfirmedFilter),)
    fields = readonly_fields = list_display

    @admin.display(description=_("user"), ordering="user__username")
    def device_user(self, obj: TOTPDevice):
        return obj.user

    @admin.display(description=_("name"), ordering="name")
    def device_name(self, obj: TOTPDevice) -> str:
        return mfa.totp_display_name(obj)

    @admin.display(description=_("confirmed"), boolean=True, ordering="confirmed")
    def device_confirmed(self, obj: TOTPDevice) -> bool:
        return obj.confirmed

    @admin.display(description=_("created at"), ordering="created_at")
    def device_created_at(self, obj: TOTPDevice):
        return obj.created_at

    @admin.display(description=_("last used at"), ordering="last_used_at")
    def device_last_used_at(self, obj: TOTPDevice):
        return obj.last_used_at


@admin.register(WebAuthnCredential)
class WebAuthnCredentialAdmin(_FactorAdmin):
    list_display = ("user", "name", "created_at", "last_used_at")
    fields = ("user", "name", "created_at", "last_used_at", "sign_count")
