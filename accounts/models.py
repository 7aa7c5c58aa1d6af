from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import scopes
from accounts.identity import username_key
from accounts.time_zones import validate_time_zone
from cradle_site.querysets import OwnedQuerySet


class CradleUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        # An operator creating the back office's account (createsuperuser, init_db) types
        # their own address; a sign-up proves its address by the link instead.
        extra_fields.setdefault("email_verified_at", timezone.now())
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        EDITOR = "editor", _("Editor")
        VIEWER = "viewer", _("Viewer (read only)")

    email = models.EmailField(_("e-mail address"), unique=True)
    role = models.CharField(max_length=50, choices=Role.choices, default=Role.EDITOR, verbose_name=_("role"))
    created_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("created at"))
    # Any zone Python knows (an old account may hold an alias); the forms offer the
    # canonical ones grouped by region (accounts.time_zones). No choices here: they would
    # copy this machine's tzdata into a migration.
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_time_zone])
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    # The name folded (accounts.identity): the log-in looks it up, sign-up keeps it unique.
    # Empty only for an old account whose folded name collided with another's.
    username_key = models.CharField(
        max_length=450, unique=True, null=True, editable=False, verbose_name=_("username key")
    )
    # When the owner proved they read ``email`` (accounts.email_verification). Warnings go
    # to the account e-mail only once it is set: a typo must hold the ladder, not deliver.
    email_verified_at = models.DateTimeField(_("e-mail verified"), null=True, blank=True, editable=False)

    objects = CradleUserManager()

    REQUIRED_FIELDS = ["email"]

    def clean(self) -> None:
        super().clean()
        key = username_key(self.username or "")
        if key and User.objects.filter(username_key=key).exclude(pk=self.pk).exists():
            raise ValidationError({"username": _("This name is taken (it reads the same as an existing one).")})

    def save(self, *args, **kwargs):
        if self.username and (self.username_key is not None or self._state.adding):
            self.username_key = username_key(self.username)
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "username" in update_fields:
                kwargs["update_fields"] = {*update_fields, "username_key"}
        # The role is the one source of truth for back-office access.
        if self.is_superuser:
            self.role = self.Role.ADMIN
        self.is_staff = self.role == self.Role.ADMIN
        super().save(*args, **kwargs)

    @property
    def can_write(self) -> bool:
        return self.role != self.Role.VIEWER

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class ApiKeyQuerySet(OwnedQuerySet):
    owner_path = "user"

    def usable(self) -> ApiKeyQuerySet:
        now = timezone.now()
        return self.filter(is_active=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiKey(models.Model):
    """An API key. The secret is never stored: only ``prefix`` (to find the row) and
    ``key_hash`` (HMAC-SHA256 of the secret under SECRET_KEY), compared in constant time.
    The full key is ``crd_<prefix>_<secret>`` and is shown once, at creation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False, verbose_name=_("prefix"))
    key_hash = models.CharField(max_length=128, unique=True, editable=False, verbose_name=_("key hash"))
    permissions = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("created at"))
    last_used = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("last used"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("revoked at"))

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} (crd_{self.prefix}_…)"

    @property
    def scopes(self) -> frozenset[str]:
        return scopes.expand(self.permissions or [])

    @property
    def scope_labels(self) -> list[str]:
        """What the key may do, in words (the key list shows these, not "tasks:create")."""
        return [str(scopes.SCOPES.get(scopes.SEED_ALIASES.get(name, name), name)) for name in self.permissions or []]

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        if not self.is_active:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"


class UserSession(models.Model):
    """The sessions a user logged in with, so a password change can end the others.

    Django's session table is keyed by session key only; finding one user's sessions there
    means decoding every row. Sessions from before this table existed are not listed, but
    they end too: Django checks each session's password hash on its next request.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    session_key = models.CharField(max_length=40, unique=True, verbose_name=_("session key"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="usersession_user_idx")]

    def __str__(self) -> str:
        return f"session of user #{self.user_id}"  # never the key: it is the session's secret


# Second factors live in their own module; imported here so Django finds the models.
from accounts.mfa_models import RecoveryCode, WebAuthnCredential  # noqa: E402,F401
