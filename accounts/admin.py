from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.api_keys import apikey_revoke
from accounts.models import ApiKey, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "role", "is_active", "time_zone", "language", "created_at")
    list_filter = ("role", "is_active", "language")
    search_fields = ("username", "email")
    ordering = ("-created_at",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("email", "first_name", "last_name", "time_zone", "language")}),
        ("Access", {"fields": ("role", "is_active", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email", "role", "password1", "password2")}),)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "permissions", "state", "created_at", "last_used", "expires_at")
    list_filter = ("is_active",)
    search_fields = ("name", "prefix", "user__username", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    # The hash is useless to staff and the secret is never stored: show neither.
    fields = (
        "user",
        "name",
        "prefix",
        "permissions",
        "created_at",
        "last_used",
        "expires_at",
        "is_active",
        "revoked_at",
    )
    readonly_fields = ("user", "prefix", "created_at", "last_used", "is_active", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are created by their owner, who must see the secret once

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = sum(apikey_revoke(api_key=key) for key in queryset)
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


from accounts import mfa_admin  # noqa: E402,F401  (second factors, in place of django-otp's admin)
