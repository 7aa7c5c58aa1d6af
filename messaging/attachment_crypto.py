"""Attachments encrypted at rest, a chunk at a time: never a whole file in memory.

Each file has a key of its own (AES-256, random), kept wrapped by the site's MultiFernet (the
``Attachment.wrapped_key`` column is an ``EncryptedTextField``), so ``rotate_secrets`` re-wraps
the keys without touching the stored bytes, and a leaked bucket without the database reads
nothing. The bytes are AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway
and Vizár; Tink's streaming AEAD is the same idea)::

    MAGIC (8) | nonce prefix (7)
    { AES-GCM(chunk of CHUNK_BYTES) + tag (16) } ...   <- nonce = prefix | counter (4) | last (1)

Every frame but the last holds exactly ``CHUNK_BYTES`` of plaintext; the last one (possibly
empty) is sealed with the "last" flag in its nonce. So a frame changed, moved, repeated or
dropped, or a file cut short after any frame, fails to decrypt (``AttachmentDamaged``), and
nothing of a damaged frame is ever handed out. Chunked Fernet would do too, but it
authenticates neither the order nor the end of the chunks (the backup format in ``ops.sealed``
adds an HMAC trailer for that, which a reader can only check at the very end).
"""

from __future__ import annotations

import base64
import io
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CRDLAT1\x00"
PREFIX_BYTES = 7
CHUNK_BYTES = 64 * 1024
TAG_BYTES = 16
FRAME_BYTES = CHUNK_BYTES + TAG_BYTES
HEADER_BYTES = len(MAGIC) + PREFIX_BYTES
_COUNTER = struct.Struct(">I")


class AttachmentDamaged(Exception):
    """The stored bytes do not decrypt under the file's key: damaged, cut short or tampered with."""


def new_file_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def key_to_text(key: bytes) -> str:
    """The key as text, for the Fernet-encrypted column."""
    return base64.urlsafe_b64encode(key).decode("ascii")


def key_from_text(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + _COUNTER.pack(counter) + (b"\x01" if last else b"\x00")


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end (streams such as a socket return short reads)."""
    parts, got = [], 0
    while got < size:
        part = source.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class EncryptingReader(io.RawIOBase):
    """A read-only stream of the encrypted file, made as it is read from ``source`` (plaintext).

    Storages take a file to save (Django's ``File.chunks``, boto3's ``upload_fileobj``): this is
    one, holding a frame or two at a time. ``plaintext_size`` counts what was read; past
    ``max_bytes`` it raises ``TooLarge``, so a file cannot outgrow the limit on its way in
    whatever size it claimed.
    """

    class TooLarge(Exception):
        pass

    def __init__(self, source: BinaryIO, key: bytes, *, max_bytes: int | None = None) -> None:
        super().__init__()
        self._source = source
        self._aead = AESGCM(key)
        self._prefix = os.urandom(PREFIX_BYTES)
        self._counter = 0
        self._buffer = bytearray(MAGIC + self._prefix)
        self._next = _read_exactly(source, CHUNK_BYTES)  # one chunk ahead, to know which one is last
        self._done = False
        self._max_bytes = max_bytes
        self.plaintext_size = len(self._next)
        self._check_size()

    def _check_size(self) -> None:
        if self._max_bytes is not None and self.plaintext_size > self._max_bytes:
            raise self.TooLarge

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        chunk = self._next
        self._next = _read_exactly(self._source, CHUNK_BYTES)
        self.plaintext_size += len(self._next)
        self._check_size()
        last = not self._next
        self._buffer += self._aead.encrypt(_nonce(self._prefix, self._counter, last), chunk, None)
        self._counter += 1
        self._done = last

    def readinto(self, target) -> int:
        while not self._buffer and not self._done:
            self._fill()
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        del self._buffer[:size]
        return size

    def read(self, size: int = -1) -> bytes:
        # ``read()`` reads the rest, as io promises: boto3 calls it only once a file turned out
        # smaller than its multipart threshold (8 MiB). Everything else reads in pieces.
        while (size is None or size < 0 or len(self._buffer) < size) and not self._done:
            self._fill()
        if size is None or size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def decrypt_chunks(source: BinaryIO, key: bytes) -> Iterator[bytes]:
    """The plaintext of an encrypted file, a chunk at a time; ``AttachmentDamaged`` if it does not check out."""
    header = _read_exactly(source, HEADER_BYTES)
    if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
        raise AttachmentDamaged("not an attachment file")
    prefix = header[len(MAGIC) :]
    aead = AESGCM(key)
    counter = 0
    frame = _read_exactly(source, FRAME_BYTES)
    while True:
        if len(frame) < TAG_BYTES:
            raise AttachmentDamaged("the file ends before its last frame")
        following = _read_exactly(source, FRAME_BYTES) if len(frame) == FRAME_BYTES else b""
        last = not following
        try:
            yield aead.decrypt(_nonce(prefix, counter, last), frame, None)
        except InvalidTag:
            raise AttachmentDamaged(f"frame {counter} does not decrypt") from None
        if last:
            return
        frame, counter = following, counter + 1
