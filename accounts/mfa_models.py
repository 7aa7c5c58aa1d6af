"""The second factors Cradle keeps itself; TOTP devices are django-otp's ``TOTPDevice``.

- ``WebAuthnCredential``: a passkey or security key registered through py_webauthn. Only
  its public key is stored; the sign count is kept to notice a cloned authenticator.
- ``RecoveryCode``: ten one-time codes, shown once. Only a keyed hash is stored
  (HMAC-SHA256 under SECRET_KEY, like API keys), and a code is spent by a conditional
  ``UPDATE ... WHERE used_at IS NULL``, so two requests racing with one code cannot both win.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebAuthnCredential(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_credentials", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=64)
    # base64url of the authenticator's credential id (up to 1023 bytes by the spec: too long
    # for a unique index on MariaDB's utf8mb4), found and kept unique by its SHA-256.
    credential_id = models.TextField(verbose_name=_("credential id"))
    credential_hash = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("credential hash"))
    public_key = models.BinaryField(verbose_name=_("public key"))
    sign_count = models.BigIntegerField(default=0, verbose_name=_("sign count"))
    created_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")

    def __str__(self) -> str:
        return self.name


class RecoveryCode(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes", verbose_name=_("user")
    )
    code_hash = models.CharField(max_length=64, verbose_name=_("code hash"))
    created_at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("created at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))

    class Meta:
        indexes = [models.Index(fields=["user", "code_hash"], name="recoverycode_user_hash")]
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"recovery code {self.pk} of user {self.user_id}"
