"""WebAuthn (passkeys, security keys) through py_webauthn: the two ceremonies, nothing else.

Each ceremony is two requests: the options (a fresh challenge, kept in the session under
its purpose, used once) and the browser's answer, which py_webauthn checks against that
challenge, the relying party id and the origin. The relying party is ``WEBAUTHN_RP_ID``, or
``SITE_URL``'s host; the origin is ``SITE_URL``'s. WebAuthn needs a secure context: HTTPS,
or ``http://localhost``.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlsplit

import webauthn
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.mfa_models import WebAuthnCredential

_CHALLENGE_KEY = "cradle_webauthn_challenge"


class CeremonyFailed(Exception):
    """The browser's answer does not verify (or there was no challenge to answer)."""


def rp_id() -> str:
    return settings.WEBAUTHN_RP_ID or urlsplit(settings.SITE_URL).hostname or "localhost"


def expected_origin() -> str:
    parts = urlsplit(settings.SITE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def credential_hash(credential_id_b64: str) -> str:
    return hashlib.sha256(credential_id_b64.encode()).hexdigest()


def _user_handle(user) -> bytes:
    # Not the primary key: the authenticator keeps this, and it should not count our users.
    return salted_hmac("cradle.accounts.webauthn-user", str(user.pk), algorithm="sha256").digest()


def _remember_challenge(request: HttpRequest, purpose: str, challenge: bytes) -> None:
    request.session[_CHALLENGE_KEY] = {"purpose": purpose, "challenge": bytes_to_base64url(challenge)}


def _take_challenge(request: HttpRequest, purpose: str) -> bytes:
    stored = request.session.pop(_CHALLENGE_KEY, None)
    if not isinstance(stored, dict) or stored.get("purpose") != purpose:
        raise CeremonyFailed("no challenge")
    return webauthn.base64url_to_bytes(stored["challenge"])


def _descriptors(user) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(cid))
        for cid in WebAuthnCredential.objects.filter(user=user).values_list("credential_id", flat=True)
    ]


def registration_options(request: HttpRequest, user) -> str:
    """JSON for ``navigator.credentials.create``; the user's own keys are excluded."""
    options = webauthn.generate_registration_options(
        rp_id=rp_id(),
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_id=_user_handle(user),
        user_name=user.get_username(),
        user_display_name=user.get_username(),
        exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    _remember_challenge(request, "register", options.challenge)
    return webauthn.options_to_json(options)


def registration_verify(request: HttpRequest, user, *, credential: str, name: str) -> WebAuthnCredential:
    challenge = _take_challenge(request, "register")
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CeremonyFailed(str(exc)) from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    if WebAuthnCredential.objects.filter(credential_hash=credential_hash(credential_id)).exists():
        raise CeremonyFailed("credential already registered")
    return WebAuthnCredential.objects.create(
        user=user,
        name=(name or "Passkey")[:64],
        credential_id=credential_id,
        credential_hash=credential_hash(credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )


def authentication_options(request: HttpRequest, user) -> str:
    """JSON for ``navigator.credentials.get`` offering the user's own keys only."""
    options = webauthn.generate_authentication_options(
        rp_id=rp_id(),
        allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _remember_challenge(request, "authenticate", options.challenge)
    return webauthn.options_to_json(options)


def authentication_verify(request: HttpRequest, user, *, credential: str) -> WebAuthnCredential:
    challenge = _take_challenge(request, "authenticate")
    try:
        raw_id = json.loads(credential).get("rawId") or ""
    except (json.JSONDecodeError, AttributeError) as exc:
        raise CeremonyFailed("not JSON") from exc
    stored = WebAuthnCredential.objects.filter(user=user, credential_hash=credential_hash(str(raw_id))).first()
    if stored is None:
        raise CeremonyFailed("not one of this user's keys")
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            credential_public_key=bytes(stored.public_key),
            credential_current_sign_count=stored.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise CeremonyFailed(str(exc)) from exc
    # Conditional on the count we checked against: a racing use of a cloned key loses.
    WebAuthnCredential.objects.filter(pk=stored.pk, sign_count=stored.sign_count).update(
        sign_count=verified.new_sign_count, last_used_at=timezone.now()
    )
    return stored
