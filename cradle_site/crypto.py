"""Fernet encryption for secrets at rest (message content, X credentials, recipient contacts, backups).

Keys come from ``settings.FERNET_KEYS``, newest first. ``MultiFernet`` encrypts with the
first and decrypts with any, so a key can be added in front and the old ones retired
once ``manage.py rotate_secrets`` has re-encrypted every row.

An encrypted column cannot be searched, so a value that must be found by equality (a
recipient's address, for staff) also gets a keyed hash (``lookup_hash``, stored by
``cradle_site.fields.KeyedHashField``). Its key is derived from ``SECRET_KEY``, not from
the Fernet keys: a Fernet rotation, done routinely, must not change the hashes while rows
are half re-encrypted (two rows of one address would stop matching). Changing
``SECRET_KEY`` (which also voids API keys and sessions) changes them all: ``rotate_secrets``
recomputes every keyed hash from the decrypted values, so run it after such a change.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet", "lookup_hash", "rotate"]


@lru_cache(maxsize=1)
def fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.FERNET_KEYS])


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs) -> None:
    if setting == "FERNET_KEYS":
        fernet.cache_clear()
    if setting == "SECRET_KEY":
        _lookup_key.cache_clear()


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode("ascii")).decode("utf-8")


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the newest key (a no-op in meaning, new ciphertext)."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")


@lru_cache(maxsize=1)
def _lookup_key() -> bytes:
    # A key of its own, derived from SECRET_KEY: the API key hashes use SECRET_KEY itself, and
    # one HMAC key must not serve two purposes.
    return hmac.new(settings.SECRET_KEY.encode(), b"cradle.lookup-hash.v1", hashlib.sha256).digest()


def lookup_hash(value: str) -> str:
    """HMAC-SHA256 (hex) of an already normalised ``value``: equal values, equal hashes, and
    without the server's key a leaked table cannot be checked against a list of guesses."""
    return hmac.new(_lookup_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()
