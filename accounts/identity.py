"""How an account name or e-mail address is compared: NFKC, then case folding.

``ｄａｖｅ`` (full width), ``𝐝𝐚𝐯𝐞`` (mathematical bold) and ``DAVE`` all fold to ``dave``. The
log-in looks accounts up by this key, sign-up refuses a name whose key is taken, and the
log-in limiter counts per key, so a spelling variant is neither a second account nor a
fresh bucket of guesses. NFKC runs again after folding because folding can leave a string
that NFKC would still change (the Unicode standard's "NFKC_Casefold" closure).
"""

from __future__ import annotations

import unicodedata


def identity_key(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).casefold())


def username_key(username: str) -> str:
    return identity_key(username)


def email_key(email: str) -> str:
    return identity_key(email)
