from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.api_keys import apikey_revoke
from accounts.email_verification import staff_change_announce, staff_email_change_record
from accounts.forms import time_zone_field
from accounts.models import ApiKey, User
from cradle_site.admin_confirm import confirm_first
from cradle_site.audit_vocabulary import note_recorded


class EmailVerifiedFilter(admin.SimpleListFilter):
    # Staff see who Cradle cannot warn: an owner with an unverified address has every
    # warning held, and their messages wait on the ladder (messaging.owner_contacts).
    title = _("e-mail verified")
    parameter_name = "email_verified"

    def lookups(self, request, model_admin):
        return [("yes", _("verified")), ("no", _("not verified (no warnings go out)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(email_verified_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(email_verified_at__isnull=True)
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "email",
        "email_verified_at",
        "role",
        "is_active",
        "time_zone",
        "language",
        "created_at",
    )
    list_filter = ("role", "is_active", "language", EmailVerifiedFilter)
    search_fields = ("username", "email")
    ordering = ("-created_at",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Profile"), {"fields": ("email", "first_name", "last_name", "time_zone", "language")}),
        (_("Access"), {"fields": ("role", "is_active", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined", "email_verified_at")}),
    )
    readonly_fields = ("email_verified_at",)
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email", "role", "password1", "password2")}),)

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The same grouped, canonical zone list as the profile page (the model has no choices).
        form = super().get_form(request, obj, change=change, **kwargs)
        if "time_zone" in form.base_fields:
            form.base_fields["time_zone"] = time_zone_field(current=obj.time_zone if obj else None)
        return form

    def save_model(self, request, obj, form, change) -> None:
        """A staff member's change of someone's address is recorded and told to the old address.

        The new address is unverified until its owner opens the link sent there: staff may have
        typed it wrong, and a wrong address must hold the warnings, not swallow them.
        """
        old_email = None
        if change and "email" in form.changed_data:
            old_email = User.objects.filter(pk=obj.pk).values_list("email", flat=True).first()
            obj.email_verified_at = None
        super().save_model(request, obj, form, change)
        if old_email is not None and old_email != obj.email:
            # Recorded in this transaction (and so the admin's change-log hook adds no second
            # event); the e-mails go once it commits.
            staff_email_change_record(
                user=obj, staff=request.user, old_email=old_email, request=request, changed=form.changed_data
            )
            transaction.on_commit(
                lambda: staff_change_announce(
                    user=obj, staff=request.user, old_email=old_email, password=False, request=request, record=False
                )
            )

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        before = user.password if user is not None else None
        if request.method == "POST" and user is not None:
            # staff_change_announce below is this change's one audit event: the admin's
            # change-log hook must not add a second one for the same edit.
            note_recorded(user._meta.label_lower, str(user.pk))
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and user is not None:
            user.refresh_from_db(fields=["password"])
            if user.password != before:
                staff_change_announce(user=user, staff=request.user, old_email=None, password=True, request=request)
        return response


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

    @admin.action(description=_("Revoke the selected keys"))
    @confirm_first(consequence=_("Revoked keys stop working at once and cannot be turned back on."))
    def revoke(self, request, queryset):
        count = sum(apikey_revoke(api_key=key, request=request) for key in queryset)
        self.message_user(
            request, ngettext("%(n)d key revoked.", "%(n)d keys revoked.", count) % {"n": count}, messages.SUCCESS
        )


from accounts import mfa_admin  # noqa: E402,F401  (second factors, in place of django-otp's admin)
