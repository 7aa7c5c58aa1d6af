"""Fernet encryption for secrets at rest (message content, X credentials, backups).

Keys come from ``settings.FERNET_KEYS``, newest first. ``MultiFernet`` encrypts with the
first and decrypts with any, so a key can be added in front and the old ones retired
once ``manage.py rotate_secrets`` has re-encrypted every row.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet", "rotate"]


@lru_cache(maxsize=1)
def fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.FERNET_KEYS])


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs) -> None:
    if setting == "FERNET_KEYS":
        fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode("ascii")).decode("utf-8")


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the newest key (a no-op in meaning, new ciphertext)."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")
