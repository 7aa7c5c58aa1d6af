"""What the owner's browser does for a sealed message (seal.js), written again in Python for the tests.

An independent implementation of the formats in ``messaging/sealed.py``: the server never runs
this; the browser test proves the script writes the same formats (its files open here too).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from messaging.sealed import FILE_CHUNK_BYTES, FILE_MAGIC

ITERATIONS = 600_000


@functools.lru_cache(maxsize=32)
def key_for(passphrase: str, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return kdf.derive(passphrase.encode())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def envelope(passphrase: str, text: str, *, with_salt: bytes | None = None, **override) -> str:
    """The envelope seal.js writes; ``override`` replaces its fields (to forge a bad one)."""
    salt = with_salt or os.urandom(16)
    iv = os.urandom(12)
    ct = AESGCM(key_for(passphrase, salt)).encrypt(iv, text.encode(), None)
    data = {"v": 1, "kdf": "PBKDF2-SHA256", "iter": ITERATIONS, "salt": _b64(salt), "iv": _b64(iv), "ct": _b64(ct)}
    return json.dumps(data | override)


def envelope_open(passphrase: str, raw: str) -> str:
    data = json.loads(raw)
    key = key_for(passphrase, base64.b64decode(data["salt"]), data["iter"])
    return AESGCM(key).decrypt(base64.b64decode(data["iv"]), base64.b64decode(data["ct"]), None).decode()


def _aad(index: int, last: bool) -> bytes:
    return struct.pack(">IB", index, 1 if last else 0)


def seal_file(passphrase: str, data: bytes, name: str) -> tuple[bytes, str]:
    """(the sealed file's bytes, its name's envelope) as seal.js uploads them."""
    salt = os.urandom(16)
    aes = AESGCM(key_for(passphrase, salt))
    out = [FILE_MAGIC, salt, struct.pack(">I", ITERATIONS)]
    frames = len(data) // FILE_CHUNK_BYTES + 1
    for index in range(frames):
        iv = os.urandom(12)
        chunk = data[index * FILE_CHUNK_BYTES : (index + 1) * FILE_CHUNK_BYTES]
        out += [iv, aes.encrypt(iv, chunk, _aad(index, index == frames - 1))]
    return b"".join(out), envelope(passphrase, name, with_salt=salt)


def open_file(passphrase: str, sealed: bytes) -> bytes:
    assert sealed.startswith(FILE_MAGIC)
    salt = sealed[8:24]
    (iterations,) = struct.unpack(">I", sealed[24:28])
    aes = AESGCM(key_for(passphrase, salt, iterations))
    at, index, out = 28, 0, []
    while True:
        left = len(sealed) - at
        last = left <= 12 + FILE_CHUNK_BYTES + 16
        size = left - 12 if last else FILE_CHUNK_BYTES + 16
        out.append(aes.decrypt(sealed[at : at + 12], sealed[at + 12 : at + 12 + size], _aad(index, last)))
        at += 12 + size
        index += 1
        if last:
            return b"".join(out)
