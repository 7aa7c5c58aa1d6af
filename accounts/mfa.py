"""Second factors: what a user has, checking a code, and what the session has proven.

Why django-otp + py_webauthn and not django-allauth's MFA: allauth would replace the whole
log-in (our rate-limited view, ``accounts.login_guard``, the known-device cookie and the
admin's limited log-in) with its own flow and account models. django-otp gives the TOTP
device (RFC 6238, ±1 step, a code's time step can be used once: ``last_t``) and py_webauthn
the WebAuthn ceremonies; recovery codes are a small model of our own (``mfa_models``),
stored hashed, which django-otp's static tokens are not.

The session remembers two facts (``SESSION_VERIFIED``): the log-in passed a second factor.
It is set when ``login()`` runs for a user who has a factor (``user_logged_in`` below):
``accounts.mfa_login`` calls ``login()`` only after the second step, so a user with a
factor is never logged in by the password alone; ``client.force_login`` in tests counts as
both steps. Adding a factor in this session, or re-authenticating with one, sets it too.
The back office (``accounts.admin_site``) wants the flag and at least one factor.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa_models import RecoveryCode, WebAuthnCredential
from cradle_site import ratelimit
from cradle_site.ratelimit import Bucket, Decision, Rate

SESSION_VERIFIED = "cradle_mfa_verified"
RECOVERY_CODE_COUNT = 10


# --- what a user has -------------------------------------------------------------------


def totp_devices(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id")


def user_has_second_factor(user) -> bool:
    if user is None or getattr(user, "pk", None) is None:
        return False
    return totp_devices(user).exists() or WebAuthnCredential.objects.filter(user=user).exists()


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


# --- the session ---------------------------------------------------------------------


def session_mark_verified(request: HttpRequest) -> None:
    request.session[SESSION_VERIFIED] = True


def is_verified(request: HttpRequest) -> bool:
    """The user is logged in, has a second factor, and this session passed one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return bool(request.session.get(SESSION_VERIFIED)) and user_has_second_factor(user)


@receiver(user_logged_in, dispatch_uid="cradle.accounts.mfa.logged_in")
def _on_logged_in(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_VERIFIED] = user_has_second_factor(user)


# --- attempts ------------------------------------------------------------------------


def attempt_reserve(request: HttpRequest, user) -> Decision:
    """Count one second-factor attempt (per account and per address) before it is checked."""
    return ratelimit.reserve(
        [
            Bucket("mfa:account", str(user.pk), Rate.of(settings.RATE_LIMIT_MFA_ACCOUNT)),
            Bucket("mfa:address", ratelimit.request_address(request), Rate.of(settings.RATE_LIMIT_MFA_ADDRESS)),
        ]
    )


# --- TOTP ----------------------------------------------------------------------------

TOTP_DEFAULT_NAME = "Authenticator app"  # stored as is; shown through totp_display_name


def totp_pending_device(user) -> TOTPDevice:
    """The unconfirmed device shown as a QR code until a code from it confirms it (one per user)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_DEFAULT_NAME, confirmed=False)


def totp_display_name(device: TOTPDevice) -> str:
    """The device's name to show: the default one in the reader's language (it is stored in
    English, so a device set up in one language reads right in the other)."""
    return gettext("Authenticator app") if device.name == TOTP_DEFAULT_NAME else device.name


def _verify_locked(device_pk: int, code: str) -> bool:
    # Under the row's lock: two requests with one code read last_t one after the other, so
    # the second sees the step already used (django-otp alone reads and saves unlocked).
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device_pk)
        return device.verify_token(code)


def _clean_code(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isdigit())[:8]


def totp_confirm(*, device: TOTPDevice, code: str) -> bool:
    """A right code from the app confirms the device; its step is then used up."""
    code = _clean_code(code)
    if not code or not _verify_locked(device.pk, code):
        return False
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    device.refresh_from_db()
    return True


def totp_verify(*, user, code: str) -> bool:
    """A code from any of the user's confirmed devices, at most one step off, not used before."""
    code = _clean_code(code)
    if len(code) < 6:
        return False
    return any(_verify_locked(pk, code) for pk in totp_devices(user).values_list("pk", flat=True))


def totp_remove(*, user, device_pk: int) -> bool:
    deleted, _ = TOTPDevice.objects.filter(user=user, pk=device_pk).delete()
    forget_recovery_codes_without_factor(user)
    return bool(deleted)


# --- recovery codes ------------------------------------------------------------------


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())[:40]


def _recovery_hash(code: str) -> str:
    return salted_hmac("cradle.accounts.recovery-code", _normalise_recovery(code), algorithm="sha256").hexdigest()


def recovery_codes_generate(*, user) -> list[str]:
    """Ten new codes replace the old ones; the caller shows them once (only hashes are kept)."""
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create([RecoveryCode(user=user, code_hash=_recovery_hash(code)) for code in codes])
    return codes


def recovery_code_use(*, user, code: str) -> bool:
    if not _normalise_recovery(code):
        return False
    spent = RecoveryCode.objects.filter(user=user, code_hash=_recovery_hash(code), used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return spent == 1


def forget_recovery_codes_without_factor(user) -> None:
    # Recovery codes stand in for a factor; with no factor left they would be a password of their own.
    if not user_has_second_factor(user):
        RecoveryCode.objects.filter(user=user).delete()


def webauthn_remove(*, user, credential_pk: int) -> bool:
    deleted, _ = WebAuthnCredential.objects.filter(user=user, pk=credential_pk).delete()
    forget_recovery_codes_without_factor(user)
    return bool(deleted)
