"""The encrypted backup file format: a stream of Fernet tokens with a keyed trailer.

Fernet encrypts one message at a time and a dump may be gigabytes, so the plaintext is cut
into chunks (1 MiB) and each chunk becomes one Fernet token. Fernet authenticates each
token, but not their order or count, so the whole file is also covered by an HMAC-SHA256
trailer; a chunk dropped, repeated or moved changes it. Layout::

    MAGIC (8 bytes) | header length (4, big-endian) | header (JSON)
    { token length (4) | token } ...  | 0 (4)          <- the zero length ends the frames
    HMAC-SHA256 of everything above (32)

The header names the database vendor and a fingerprint of the key used, so a restore can
tell "wrong key" (fingerprint unknown) from "tampered" (fingerprint known, HMAC differs).
The HMAC key is derived from the Fernet key, so one secret (FERNET_KEYS) protects both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

MAGIC = b"CRADLBK1"
CHUNK_BYTES = 1024 * 1024
_LEN = struct.Struct(">I")
_MAX_TOKEN = 4 * CHUNK_BYTES  # a 1 MiB chunk is ~1.4 MiB as a token; anything far larger is damage


class BackupError(Exception):
    """A backup that cannot be trusted or read; the message is one readable line."""


@dataclass(frozen=True)
class _Key:
    fernet: Fernet
    mac_key: bytes
    fingerprint: str


def _key(raw: str) -> _Key:
    mac_key = hashlib.sha256(b"cradle-backup-hmac:" + raw.encode("ascii")).digest()
    return _Key(Fernet(raw), mac_key, hashlib.sha256(mac_key).hexdigest()[:16])


def _keys() -> list[_Key]:
    return [_key(raw) for raw in settings.FERNET_KEYS]


def seal(chunks: Iterable[bytes], out: BinaryIO, *, header: dict) -> str:
    """Encrypt ``chunks`` (any sizes) into ``out``; return the sha256 of the file written."""
    key = _keys()[0]
    mac = hmac.new(key.mac_key, digestmod=hashlib.sha256)
    digest = hashlib.sha256()

    def write(data: bytes) -> None:
        mac.update(data)
        digest.update(data)
        out.write(data)

    head = json.dumps({**header, "key": key.fingerprint, "chunk": CHUNK_BYTES, "zlib": True}, sort_keys=True).encode()
    write(MAGIC + _LEN.pack(len(head)) + head)
    for chunk in _rechunk(_compress(chunks)):
        token = key.fernet.encrypt(chunk)
        write(_LEN.pack(len(token)) + token)
    write(_LEN.pack(0))
    trailer = mac.digest()
    digest.update(trailer)
    out.write(trailer)
    return digest.hexdigest()


def _compress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(3)
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()


def _rechunk(chunks: Iterable[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in chunks:
        buffer += piece
        while len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer[:CHUNK_BYTES])
            del buffer[:CHUNK_BYTES]
    if buffer:
        yield bytes(buffer)


def read_header(stream: BinaryIO) -> dict:
    magic = stream.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupError("not a Cradle backup file (bad magic bytes)")
    (size,) = _LEN.unpack(_read_exact(stream, _LEN.size))
    if size > 65536:
        raise BackupError("backup header is damaged")
    try:
        header = json.loads(_read_exact(stream, size))
    except ValueError:
        raise BackupError("backup header is damaged") from None
    if not isinstance(header, dict):
        raise BackupError("backup header is damaged")
    return header


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise BackupError("backup file is truncated")
    return data


def _frames(stream: BinaryIO, mac) -> Iterator[bytes]:
    while True:
        length_bytes = _read_exact(stream, _LEN.size)
        mac.update(length_bytes)
        (length,) = _LEN.unpack(length_bytes)
        if length == 0:
            return
        if length > _MAX_TOKEN:
            raise BackupError("backup file is damaged or was tampered with (bad frame length)")
        token = _read_exact(stream, length)
        mac.update(token)
        yield token


def _matching_key(header: dict) -> _Key:
    for key in _keys():
        if hmac.compare_digest(key.fingerprint, str(header.get("key", ""))):
            return key
    raise BackupError("backup was encrypted with a key that is not in FERNET_KEYS (wrong key)")


def verify(path) -> dict:
    """Check the whole file's HMAC without decrypting; return its header or raise BackupError."""
    with open(path, "rb") as stream:
        header = read_header(stream)
        key = _matching_key(header)
        mac = _header_mac(key, header, stream)
        for _token in _frames(stream, mac):
            pass
        _check_trailer(stream, mac)
    return header


def _header_mac(key: _Key, header: dict, stream: BinaryIO):
    # Re-read the raw header bytes so the MAC covers exactly what is on disk.
    end = stream.tell()
    stream.seek(0)
    raw = stream.read(end)
    mac = hmac.new(key.mac_key, digestmod=hashlib.sha256)
    mac.update(raw)
    return mac


def _check_trailer(stream: BinaryIO, mac) -> None:
    trailer = stream.read(32)
    if len(trailer) != 32 or stream.read(1):
        raise BackupError("backup file is damaged or was tampered with (bad trailer)")
    if not hmac.compare_digest(trailer, mac.digest()):
        raise BackupError("backup file is damaged or was tampered with (checksum mismatch)")


def unseal(path) -> Iterator[bytes]:
    """Yield the plaintext chunks of a backup. Call ``verify`` first: this checks each
    chunk (Fernet) and the trailer again at the end, so a file changed between the two
    passes still fails, though only after some chunks were yielded."""
    with open(path, "rb") as stream:
        header = read_header(stream)
        key = _matching_key(header)
        mac = _header_mac(key, header, stream)
        decompressor = zlib.decompressobj() if header.get("zlib") else None
        for token in _frames(stream, mac):
            try:
                plain = key.fernet.decrypt(token)
            except InvalidToken:
                raise BackupError("backup file is damaged or was tampered with (a chunk fails to decrypt)") from None
            yield decompressor.decompress(plain) if decompressor else plain
        _check_trailer(stream, mac)
        if decompressor:
            yield decompressor.flush()
