"""Second factors in the back office: staff see who has which and may remove a lost one.

Staff never see a TOTP secret or add a factor for someone (django-otp's own admin shows the
key and a QR code; it is replaced here). Removing a user's last factor also drops their
recovery codes (``accounts.mfa``).
"""

from __future__ import annotations

from django.contrib import admin
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


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(_FactorAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")


@admin.register(WebAuthnCredential)
class WebAuthnCredentialAdmin(_FactorAdmin):
    list_display = ("user", "name", "created_at", "last_used_at")
    fields = ("user", "name", "created_at", "last_used_at", "sign_count")
