"""The browser half of an OAuth 2.0 authorization code flow with PKCE, kept in the session.

One place for what every "Connect ..." button needs (Google Drive, X): a fresh ``state``
bound to the user's session, so a callback that carries any other state is refused and
nobody can attach their account, or steal a code, through a crafted link (RFC 6749 §10.12);
and a PKCE ``S256`` verifier (RFC 7636), so a code caught on its way back is useless
without it. A flow works once and for ``STATE_MAX_AGE``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

# A consent screen left open longer than this is started again.
STATE_MAX_AGE = timedelta(minutes=15)


class FlowRefused(Exception):
    """The callback's state is not this session's open flow (or it is too old)."""


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def flow_start(session, key: str, *, project_id: int) -> dict[str, str]:
    """Remember a new flow under ``key``; the query parameters it adds to the authorize URL."""
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within PKCE's 43-128
    session[key] = {"state": state, "verifier": verifier, "project": project_id, "started": timezone.now().timestamp()}
    return {"state": state, "code_challenge": code_challenge(verifier), "code_challenge_method": "S256"}


def flow_pending(session, key: str, *, state: str) -> tuple[int, str]:
    """The project and PKCE verifier of the session's own flow, if ``state`` is that flow's.

    The entry is used up either way: a state works once.
    """
    pending = session.pop(key, None)
    if (
        not pending
        or not state
        or not secrets.compare_digest(str(pending.get("state", "")), state)
        or timezone.now().timestamp() - float(pending.get("started", 0)) > STATE_MAX_AGE.total_seconds()
    ):
        raise FlowRefused
    return int(pending["project"]), str(pending["verifier"])
