"""A local X double for tests with several processes: it behaves like X where our safety
depends on X, and it records every post it creates.

``responses`` patches requests inside one process only; worker processes reach this
server instead, through ``PUBLISHING_X_BASE_URL`` (tweepy's own code builds and signs
each request; only the host changes).

What it does like X (API v2 ``POST /2/tweets`` and v1.1 media upload):

- **Refuses a duplicate**: the same text from the same account (the OAuth 1.0a
  ``oauth_token`` of the request) within ``duplicate_window`` gets X's 403 body
  ``{"detail": "You are not allowed to create a Tweet with duplicate content.", ...}``,
  which ``publishing.publishers.classify`` turns into a ``duplicate`` error. A post without
  text is never refused: X has no text to compare, and every upload gets a fresh media id.
- **Uploads media** (``simple_upload``, multipart) and answers alt text
  (``media/metadata/create``); each media id remembers the sha256 of its bytes, so a
  creation can be traced back to a task's ``media_hash``.

``fail_texts`` answers 503 to a post of a given text a number of times (a thread that
fails at one of its posts); each creation records the ``in_reply_to`` id it answered.

What it records: ``creations``, one ``Creation`` per accepted ``POST /2/tweets`` (its
account, text, media ids and their hashes), also served as JSON at ``GET /_double/creations``
for a process that does not hold this object. ``creations_per_task`` counts them per task,
so a test asserts "each task was created exactly once" without relying on the refusal.

``slow_texts`` records a post of a given text and answers only after that many seconds
(a worker whose read timed out while X posted it). The account's timeline is readable as
X serves it (``GET /2/users/me``, ``GET /2/users/:id/tweets`` newest first, with
``referenced_tweets`` for replies); ``off_timeline`` hides posts of the given texts from it.

**OAuth 2.0** as X serves it: ``consent`` stands for the owner's yes on X's screen (a code
bound to the PKCE challenge and redirect URI of the authorize URL); ``POST /2/oauth2/token``
checks the client's HTTP Basic credentials, the verifier and the redirect URI, hands out a
two-hour bearer token and a refresh token, and *rotates* the refresh token on each refresh
(a spent or revoked one answers ``invalid_grant``); ``POST /2/oauth2/revoke``. A bearer token
it issued acts as its account on ``/2/tweets``, ``/2/media/upload`` and the timeline; any
other answers 401, and so does one past its two hours.

``hang_after_create`` makes the double record a creation and then not answer until
``release`` is set: the test kills the worker while X has the post and the worker does not
know it (``created`` is set when that point is reached).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DUPLICATE_BODY = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
_OAUTH_TOKEN = re.compile(r'oauth_token="([^"]*)"')


@dataclass(frozen=True)
class Creation:
    tweet_id: str
    account: str
    text: str
    media_ids: tuple[str, ...]
    media_hashes: tuple[str, ...]
    created_at: float
    in_reply_to: str = ""  # the post this one answers (a thread's reply), "" for none


def _multipart_files(content_type: str, body: bytes) -> dict[str, bytes]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in message.iter_parts()
    }


class XDouble:
    def __init__(self, *, duplicate_window: timedelta = timedelta(hours=24)):
        self.duplicate_window = duplicate_window.total_seconds()
        self.creations: list[Creation] = []
        self.refused = 0  # duplicates answered with 403
        self.media: dict[str, str] = {}  # media id -> sha256 of the uploaded bytes
        self.hang_after_create = False
        # text -> how many more times a post of it is answered 503 (a thread that fails midway).
        self.fail_texts: dict[str, int] = {}
        self.failed = 0
        self.slow_texts: dict[str, float] = {}
        self.off_timeline: set[str] = set()
        self.timeline_reads = 0
        self.client_id, self.client_secret = "x-client-id", "x-client-secret"
        self.codes: dict[str, tuple[str, str, str]] = {}  # code -> (account, challenge, redirect_uri)
        self.access: dict[str, tuple[str, float]] = {}  # bearer token -> (account, expires at)
        self.refresh: dict[str, str] = {}  # live refresh token -> account
        self.token_calls: list[dict] = []  # every token endpoint form, for the tests
        self.revoked: list[str] = []
        self.created = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self._next_id = 10_000
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def do_GET(self):  # noqa: N802 - the http.server API
                path = self.path.split("?", 1)[0]
                if self._account() is None:
                    return self._reply(401, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401})
                if path == "/2/users/me":
                    username = (self._account() or "cradle").split("-")[0]
                    return self._reply(200, {"data": {"id": self._user_id(), "name": "Cradle", "username": username}})
                if path.startswith("/2/users/") and path.endswith("/tweets"):
                    return self._timeline(path.split("/")[3])
                if path != "/_double/creations":
                    return self._reply(404, {"title": "Not Found"})
                with double.lock:
                    rows = [asdict(creation) for creation in double.creations]
                self._reply(200, {"creations": rows})

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?", 1)[0]
                if path == "/2/oauth2/token":
                    return self._token(body)
                if path == "/2/oauth2/revoke":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    with double.lock:
                        double.revoked.append(form.get("token", ""))
                        double.refresh.pop(form.get("token", ""), None)
                    return self._reply(200, {"revoked": True})
                if self._account() is None:
                    return self._reply(401, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401})
                if path == "/2/tweets":
                    return self._create_tweet(json.loads(body))
                if path == "/2/media/upload":
                    files = _multipart_files(self.headers.get("Content-Type", ""), body)
                    if "media" not in files:
                        return self._reply(
                            400, {"errors": [{"message": "media is missing"}], "title": "Invalid Request"}
                        )
                    media_id = double._new_id()
                    with double.lock:
                        double.media[media_id] = hashlib.sha256(files["media"]).hexdigest()
                    return self._reply(200, {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": 1}})
                if path == "/2/media/metadata":
                    return self._reply(200, {"data": {"associated_metadata": True, "id": json.loads(body)["id"]}})
                if path == "/1.1/media/upload.json":
                    files = _multipart_files(self.headers.get("Content-Type", ""), body)
                    if "media" not in files:
                        return self._reply(400, {"errors": [{"code": 38, "message": "media parameter is missing."}]})
                    media_id = double._new_id()
                    with double.lock:
                        double.media[media_id] = hashlib.sha256(files["media"]).hexdigest()
                    return self._reply(200, {"media_id": int(media_id), "media_id_string": media_id, "size": 1})
                if path == "/1.1/media/metadata/create.json":
                    return self._reply(200, None)
                return self._reply(404, {"title": "Not Found"})

            def _account(self) -> str | None:
                """The caller's account: OAuth 1.0a's token, or a bearer token this double issued
                (None for a bearer it did not issue, or one that was revoked)."""
                authorization = self.headers.get("Authorization", "")
                if authorization.startswith("Bearer "):
                    with double.lock:
                        account, expires = double.access.get(authorization.removeprefix("Bearer "), (None, 0))
                    return account if time.time() < expires else None
                match = _OAUTH_TOKEN.search(authorization)
                return match.group(1) if match else ""

            def _user_id(self) -> str:
                return str(int(hashlib.sha256((self._account() or "").encode()).hexdigest()[:12], 16))

            def _timeline(self, user_id: str):
                if user_id != self._user_id():
                    return self._reply(403, {"title": "Forbidden", "detail": "Not your timeline", "status": 403})
                account = self._account()
                with double.lock:
                    double.timeline_reads += 1
                    rows = [
                        c
                        for c in reversed(double.creations)
                        if c.account == account and c.text not in double.off_timeline
                    ][:100]
                data = []
                for c in rows:
                    tweet = {"id": c.tweet_id, "text": c.text, "edit_history_tweet_ids": [c.tweet_id]}
                    if c.in_reply_to:
                        tweet["referenced_tweets"] = [{"type": "replied_to", "id": c.in_reply_to}]
                    data.append(tweet)
                self._reply(
                    200, {"data": data, "meta": {"result_count": len(data)}} if data else {"meta": {"result_count": 0}}
                )

            def _token(self, body: bytes):
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                basic = base64.b64encode(f"{double.client_id}:{double.client_secret}".encode()).decode()
                with double.lock:
                    double.token_calls.append(form)
                if self.headers.get("Authorization", "") != f"Basic {basic}":
                    return self._reply(401, {"error": "unauthorized_client"})
                with double.lock:
                    if form.get("grant_type") == "authorization_code":
                        issued = double.codes.pop(form.get("code", ""), None)
                        if issued is None:
                            return self._reply(400, {"error": "invalid_request", "error_description": "bad code"})
                        account, challenge, redirect_uri = issued
                        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
                            return self._reply(400, {"error": "invalid_request", "error_description": "PKCE"})
                        if form.get("redirect_uri") != redirect_uri:
                            return self._reply(400, {"error": "invalid_request", "error_description": "redirect"})
                    elif form.get("grant_type") == "refresh_token":
                        account = double.refresh.pop(form.get("refresh_token", ""), None)  # spent, rotated
                        if account is None:
                            return self._reply(400, {"error": "invalid_grant", "error_description": "Invalid token"})
                    else:
                        return self._reply(400, {"error": "unsupported_grant_type"})
                    number = double._new_id_locked()
                    access, refresh = f"at-{account}-{number}", f"rt-{account}-{number}"
                    double.access[access] = (account, time.time() + 7200)
                    double.refresh[refresh] = account
                self._reply(
                    200,
                    {
                        "token_type": "bearer",
                        "expires_in": 7200,
                        "access_token": access,
                        "refresh_token": refresh,
                        "scope": "tweet.read tweet.write users.read media.write offline.access",
                    },
                )

            def _create_tweet(self, payload: dict):
                account = self._account()
                text = payload.get("text") or ""
                media_ids = tuple((payload.get("media") or {}).get("media_ids") or ())
                in_reply_to = str((payload.get("reply") or {}).get("in_reply_to_tweet_id") or "")
                now = time.time()
                with double.lock:
                    if double.fail_texts.get(text, 0) > 0:
                        double.fail_texts[text] -= 1
                        double.failed += 1
                        fail = True
                    else:
                        fail = False
                if fail:
                    return self._reply(503, {"title": "Service Unavailable", "detail": "Over capacity", "status": 503})
                with double.lock:
                    if text and any(
                        c.account == account and c.text == text and now - c.created_at < double.duplicate_window
                        for c in double.creations
                    ):
                        double.refused += 1
                        creation = None
                    else:
                        creation = Creation(
                            tweet_id=double._new_id_locked(),
                            account=account,
                            text=text,
                            media_ids=media_ids,
                            media_hashes=tuple(double.media.get(m, "") for m in media_ids),
                            created_at=now,
                            in_reply_to=in_reply_to,
                        )
                        double.creations.append(creation)
                if creation is None:
                    return self._reply(403, DUPLICATE_BODY)
                if text in double.slow_texts:
                    time.sleep(double.slow_texts[text])
                if double.hang_after_create:
                    double.created.set()
                    double.release.wait(timeout=120)
                self._reply(201, {"data": {"id": creation.tweet_id, "text": text}})

            def _reply(self, status: int, payload: dict | None):
                data = json.dumps(payload).encode() if payload is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the worker was killed while waiting: X has the post all the same

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def consent(self, account: str, authorize_url: str) -> dict:
        """The owner says yes on X's screen: a code for ``account``; the callback's query."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = f"code-{account}-{self._new_id()}"
        with self.lock:
            self.codes[code] = (account, query["code_challenge"], query["redirect_uri"])
        return {"state": query["state"], "code": code}

    def revoke_all(self, account: str) -> None:
        """The owner removes the app in X's settings: every token of ``account`` stops working."""
        with self.lock:
            self.access = {t: v for t, v in self.access.items() if v[0] != account}
            self.refresh = {t: a for t, a in self.refresh.items() if a != account}

    def _new_id_locked(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def _new_id(self) -> str:
        with self.lock:
            return self._new_id_locked()

    def __enter__(self) -> XDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def total(self) -> int:
        with self.lock:
            return len(self.creations)

    def creations_per_task(self, tasks: Iterable) -> Counter:
        """How many posts X created for each task (by its text, or for a post without text by
        its media file's hash); a creation that matches no task counts under ``None``."""
        by_text, by_media = {}, {}
        for task in tasks:
            if task.text:
                by_text[task.text] = task.pk
            elif task.media_hash:
                by_media[task.media_hash] = task.pk
        with self.lock:
            creations = list(self.creations)
        return Counter(
            by_text.get(c.text) if c.text else by_media.get(c.media_hashes[0] if c.media_hashes else "")
            for c in creations
        )
