"""``SecurityEvent``: what happened to an account's security, append-only.

Shaped as the first part of the general audit log (issue 17's ``AuditEvent``: who, what,
which object, when, from where), so that log can take these rows as they are:

- **whose**: ``user``, the account the event is about (the subject);
- **who**: ``actor_kind`` (``user`` themself, ``staff``, an ``api_key``, ``anonymous`` (a
  visitor not signed in, e.g. guessing passwords), the ``system``),
  ``actor`` (the acting person, when one is known) and ``actor_label`` (a staff member's
  name or an API key's prefix, kept as text so the row still reads after they are gone);
- **what**: ``kind``, from the fixed vocabulary below, ``<object>.<action>``;
- **which object**: ``object_type`` (``app_label.model``) and ``object_id``, when the event
  is about one row (an API key, a message);
- **when**: ``created_at``; **from where**: ``ip`` (``cradle_site.ratelimit.client_ip``)
  and ``user_agent`` (truncated);
- ``data``: the facts as JSON, never a secret (no password, token, key or message text).

Rows are written by ``accounts.security_events.security_event_record`` only and never
changed: the admin is read-only and the model refuses a second save.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER_AGENT_MAX = 300


class SecurityEvent(models.Model):
    class Kind(models.TextChoices):
        LOGIN = "auth.login", _("Logged in")
        LOGIN_LOCKED = "auth.login_locked", _("Log-ins paused after repeated wrong passwords")
        PASSWORD_CHANGED = "auth.password_changed", _("Password changed")
        SESSIONS_ENDED = "auth.sessions_ended", _("Other sessions logged out")
        ACCOUNT_CREATED = "account.created", _("Account created")
        EMAIL_VERIFIED = "email.verified", _("E-mail address verified")
        EMAIL_CHANGE_REQUESTED = "email.change_requested", _("E-mail change requested")
        EMAIL_CHANGED = "email.changed", _("E-mail address changed")
        MFA_ENABLED = "mfa.enabled", _("Two-factor authentication turned on")
        MFA_DISABLED = "mfa.disabled", _("Two-factor authentication turned off")
        MFA_DEVICE_ADDED = "mfa.device_added", _("Second factor added")
        MFA_DEVICE_REMOVED = "mfa.device_removed", _("Second factor removed")
        MFA_RECOVERY_CODES = "mfa.recovery_codes_generated", _("New recovery codes made")
        MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used", _("Recovery code used")
        API_KEY_CREATED = "api_key.created", _("API key created")
        API_KEY_REVOKED = "api_key.revoked", _("API key revoked")
        PING_TOKEN_CREATED = "ping_token.created", _("Personal check-in URL created")
        PING_TOKEN_ROTATED = "ping_token.rotated", _("Personal check-in URL replaced")
        PING_TOKEN_DELETED = "ping_token.deleted", _("Personal check-in URL deleted")
        STAFF_CHANGED_EMAIL = "staff.user_email_changed", _("Staff changed your e-mail address")
        STAFF_CHANGED_PASSWORD = "staff.user_password_changed", _("Staff changed your password")
        STAFF_CHANGED_DATA = "staff.user_data_changed", _("Staff changed your data")

    class ActorKind(models.TextChoices):
        USER = "user", _("you")
        STAFF = "staff", _("staff")
        API_KEY = "api_key", _("API key")
        ANONYMOUS = "anonymous", _("someone not logged in")
        SYSTEM = "system", _("Cradle")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_events", verbose_name=_("user")
    )
    kind = models.CharField(_("event"), max_length=40, choices=Kind.choices)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    actor_kind = models.CharField(_("by"), max_length=10, choices=ActorKind.choices, default=ActorKind.USER)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(max_length=150, blank=True, default="", verbose_name=_("actor label"))
    object_type = models.CharField(max_length=100, blank=True, default="", verbose_name=_("object type"))
    object_id = models.CharField(max_length=64, blank=True, default="", verbose_name=_("object id"))
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=USER_AGENT_MAX, blank=True, default="")
    data = models.JSONField(blank=True, default=dict, verbose_name=_("data"))

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The user's page walks this newest first (keyset on created_at, id).
            models.Index(fields=["user", "-created_at", "-id"], name="secevent_user_created_idx"),
            # The admin's kind filter, newest first.
            models.Index(fields=["kind", "-created_at"], name="secevent_kind_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("security events are append-only")
        super().save(*args, **kwargs)
