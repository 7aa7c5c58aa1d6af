"""Sealed messages: the text and files are encrypted in the owner's browser; Cradle keeps ciphertext only.

The owner types a passphrase that is never sent (the inputs have no ``name``); the page's script
(``messaging/static/messaging/seal.js``) derives an AES-256 key with PBKDF2-SHA256 (600,000
iterations, a random 16-byte salt per item) and encrypts with AES-GCM (a random 12-byte IV).
The server stores the result inside its own Fernet layer like any text, and the recipient's
delivery page decrypts it in their browser after they type the passphrase. The hint the owner
writes is delivered in clear. What this protects against: anyone who reads Cradle's database,
backups, logs or e-mail (the operator included) reads no sealed text. What not: a passphrase
that is lost cannot be recovered by anyone, the title and the recipients stay readable by the
operator, and a server that was changed to serve other script could capture the passphrase.

The text is one JSON **envelope** (this module checks it, so plaintext is never saved as
"sealed" by mistake)::

    {"v": 1, "kdf": "PBKDF2-SHA256", "iter": 600000, "salt": b64, "iv": b64, "ct": b64}

A sealed **file** is uploaded as ciphertext in frames of its own (whole-file GCM would make the
browser hold the file and its ciphertext at once, and WebCrypto has no streaming GCM)::

    FILE_MAGIC (8) | salt (16) | iterations (4, big-endian)
    { iv (12) | AES-GCM(up to FILE_CHUNK_BYTES of plaintext) + tag (16) } ...

every frame but the last holds exactly ``FILE_CHUNK_BYTES`` of plaintext, and each frame's
additional data is its index (4 bytes, big-endian) and a "last" byte, so a frame moved, dropped
or cut off fails to decrypt. The file's real name is an envelope of its own (``sealed_name``)
under the file's salt; the stored name is ``attachment-N.sealed``. The server then stores the
uploaded bytes through its usual encrypted storage (``messaging.attachment_crypto``).
"""

from __future__ import annotations

import base64
import binascii
import json
import struct

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

VERSION = 1
KDF = "PBKDF2-SHA256"
MIN_ITERATIONS = 600_000
MAX_ITERATIONS = 10_000_000  # a bound, so a forged envelope cannot make a recipient's browser spin for hours
SALT_MIN_BYTES = 16
SALT_MAX_BYTES = 64
IV_BYTES = 12
TAG_BYTES = 16
# The sealed text (UTF-8) is at most this, so its envelope stays a bounded string.
TEXT_MAX_BYTES = 512 * 1024
NAME_MAX_BYTES = 1024
HINT_MAX_LENGTH = 200

FILE_MAGIC = b"CRDLSF1\x00"
FILE_CHUNK_BYTES = 1024 * 1024
_ITER = struct.Struct(">I")
FILE_HEADER_BYTES = len(FILE_MAGIC) + SALT_MIN_BYTES + _ITER.size


def _b64(value, limit: int) -> bytes | None:
    if not isinstance(value, str) or len(value) > (limit * 4) // 3 + 8:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def envelope_check(raw: str, *, max_plain_bytes: int = TEXT_MAX_BYTES) -> str | None:
    """The envelope as canonical JSON, or None when ``raw`` is not a well-formed one."""
    if not isinstance(raw, str) or len(raw) > (max_plain_bytes + TAG_BYTES) * 4 // 3 + 1024:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or set(data) != {"v", "kdf", "iter", "salt", "iv", "ct"}:
        return None
    iterations = data["iter"]
    if data["v"] != VERSION or data["kdf"] != KDF or isinstance(iterations, bool) or not isinstance(iterations, int):
        return None
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        return None
    salt, iv = _b64(data["salt"], SALT_MAX_BYTES), _b64(data["iv"], IV_BYTES)
    ct = _b64(data["ct"], max_plain_bytes + TAG_BYTES)
    if salt is None or not SALT_MIN_BYTES <= len(salt) <= SALT_MAX_BYTES or iv is None or len(iv) != IV_BYTES:
        return None
    # AES-GCM's output is the plaintext's length plus the tag: an empty text would still be 16 bytes.
    if ct is None or not TAG_BYTES < len(ct) <= max_plain_bytes + TAG_BYTES:
        return None
    return json.dumps(
        {"v": VERSION, "kdf": KDF, "iter": iterations, "salt": data["salt"], "iv": data["iv"], "ct": data["ct"]},
        separators=(",", ":"),
    )


def envelope_validate(raw: str, *, field: str = "content", max_plain_bytes: int = TEXT_MAX_BYTES) -> str:
    """The envelope as canonical JSON; ``ValidationError`` on ``field`` for anything else (plaintext too)."""
    envelope = envelope_check(raw, max_plain_bytes=max_plain_bytes)
    if envelope is None:
        raise ValidationError(
            {
                field: _(
                    "A sealed message must arrive already encrypted (by your browser, which needs JavaScript for "
                    "it, or your API client); this did not, so nothing was saved."
                )
            },
            code="not_sealed",
        )
    return envelope


def clean_hint(hint: str) -> str:
    """The hint shown in clear to the recipients: one short line, required for a sealed message."""
    from cradle_site.text import validate_single_line

    hint = (hint or "").strip()
    if not hint:
        raise ValidationError({"seal_hint": _("Write a hint that helps your recipients remember the passphrase.")})
    if len(hint) > HINT_MAX_LENGTH:
        raise ValidationError({"seal_hint": _("At most %(n)s characters.") % {"n": HINT_MAX_LENGTH}})
    try:
        validate_single_line(hint)
    except ValidationError as exc:
        raise ValidationError({"seal_hint": exc.messages[0]}) from None
    return hint


def file_header_check(head: bytes) -> bool:
    """True when ``head`` (the upload's first bytes) starts a sealed file with a strong enough key derivation."""
    if len(head) < FILE_HEADER_BYTES or not head.startswith(FILE_MAGIC):
        return False
    (iterations,) = _ITER.unpack_from(head, len(FILE_MAGIC) + SALT_MIN_BYTES)
    return MIN_ITERATIONS <= iterations <= MAX_ITERATIONS


def file_not_sealed_error() -> ValidationError:
    return ValidationError(
        {
            "file": _(
                "This message is sealed, so its files are sealed in your browser before they are sent; this one "
                "was not, and it was not saved. Sealing needs JavaScript."
            )
        },
        code="not_sealed",
    )
