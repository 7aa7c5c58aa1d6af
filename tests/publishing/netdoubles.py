"""Local HTTP doubles of a Mastodon instance and a Bluesky PDS, for the real client libraries
(Mastodon.py, atproto) to run against. Like ``xdouble``: a ThreadingHTTPServer on 127.0.0.1,
every accepted post recorded (``creations``, also at ``GET /_double/creations`` for other
processes), every request's shape kept in ``requests`` for the tests to check.

Mastodon (``MastodonDouble``): ``GET /api/v2/instance`` (its limits),
``GET /api/v1/accounts/verify_credentials``, ``POST /api/v2/media`` (multipart ``file`` and
``description``), ``POST /api/v1/statuses`` (``in_reply_to_id``, ``media_ids[]``,
``spoiler_text``, ``visibility``). A repeated ``Idempotency-Key`` from the same token gets the
status it already made, as Mastodon does, and creates nothing. A bearer token it was not
given answers 401.

Its OAuth side, with the request shapes of Mastodon's Doorkeeper: ``POST /api/v1/apps``
(form ``client_name``, ``redirect_uris``, ``scopes``, ``website``; answers ``client_id`` and
``client_secret``), ``GET /.well-known/oauth-authorization-server`` (RFC 8414, as 4.3+),
``GET /oauth/authorize`` (``response_type=code``, ``client_id``, ``redirect_uri``, ``scope``,
``state``; an app's own redirect URI and scopes only; the owner's consent is
``consent_acct``: it answers 302 to the redirect URI with a single-use ``code`` and the
``state``, or ``error=access_denied`` when ``consent_acct`` is empty) and ``POST /oauth/token``
(``grant_type=authorization_code`` with the app's id and secret, the code and the same
redirect URI; the token it answers is then accepted as that account's bearer token). ``rate_limit_until`` (epoch seconds) answers status posts 429 with
``X-RateLimit-Reset`` until then.

Bluesky (``BlueskyDouble``): ``com.atproto.server.createSession`` / ``getSession`` /
``refreshSession`` (JWT-shaped tokens with ``exp``), ``com.atproto.identity.resolveHandle``,
``com.atproto.repo.uploadBlob``, ``com.atproto.repo.createRecord`` (an existing rkey is
refused, and so is an embed the real PDS's lexicon check would refuse: an images or external
embed whose blobs were not uploaded or are not blob refs, an external card without ``uri``,
``title`` and ``description`` strings) and ``getRecord``. ``rate_limit_until`` answers createRecord 429 with
``ratelimit-reset`` (epoch seconds) until then.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote

import filetype

from tests.publishing.xdouble import _multipart_files

B32 = "abcdefghijklmnopqrstuvwxyz234567"


def fake_cid(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    bits = int.from_bytes(digest, "big")
    return "bafyrei" + "".join(B32[(bits >> (5 * i)) & 31] for i in range(52))


@dataclass(frozen=True)
class Post:
    post_id: str
    account: str
    text: str
    media_hashes: tuple[str, ...] = ()
    alt_texts: tuple[str, ...] = ()
    in_reply_to: str = ""
    extra: dict = field(default_factory=dict)


class _Double:
    def __init__(self) -> None:
        self.creations: list[Post] = []
        self.requests: list[dict] = []  # {"method", "path", "headers", "body"} of every request
        self.rate_limit_until = 0.0
        self.rate_limited = 0
        self.lock = threading.Lock()
        self._next = 100
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _handle(self, method: str):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                with double.lock:
                    double.requests.append(
                        {"method": method, "path": path, "query": query, "headers": dict(self.headers), "body": body}
                    )
                if path == "/_double/creations":
                    with double.lock:
                        return self.reply(200, {"creations": [asdict(c) for c in double.creations]})
                status, payload, headers = double.route(method, path, parse_qs(query), self.headers, body)
                self.reply(status, payload, headers)

            def do_GET(self):  # noqa: N802 - the http.server API
                self._handle("GET")

            def do_POST(self):  # noqa: N802
                self._handle("POST")

            def reply(self, status: int, payload, headers: dict | None = None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def new_id(self) -> str:
        self._next += 1
        return str(self._next)

    def route(self, method, path, query, headers, body):  # pragma: no cover - each double's own
        raise NotImplementedError

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].rstrip("/") == path]

    def creations_per_text(self) -> Counter:
        with self.lock:
            return Counter(c.text for c in self.creations)


class MastodonDouble(_Double):
    def __init__(self, *, tokens: dict[str, str] | None = None, max_characters: int = 500):
        super().__init__()
        self.tokens = tokens or {"mastodon-token-1": "alice"}  # token -> acct
        self.max_characters = max_characters
        self.media: dict[str, tuple[str, str]] = {}  # media id -> (sha256, description)
        self.idempotent: dict[tuple[str, str], dict] = {}  # (token, key) -> status
        self.replayed = 0
        self.apps: dict[str, dict] = {}  # client id -> {"client_secret", "redirect_uris", "scopes", "name"}
        self.codes: dict[str, dict] = {}  # code -> {"client_id", "redirect_uri", "scope", "acct"}
        self.consent_acct = "bob"  # who approves on the authorize page; "" says no

    def _form(self, headers, body) -> dict:
        if "json" in (headers.get("Content-Type") or ""):
            return json.loads(body or b"{}")
        return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}

    def _oauth(self, method, path, query, headers, body):
        """The OAuth endpoints; None for any other path."""
        if path == "/.well-known/oauth-authorization-server":
            return (
                200,
                {
                    "issuer": self.url + "/",
                    "authorization_endpoint": self.url + "/oauth/authorize",
                    "token_endpoint": self.url + "/oauth/token",
                    "revocation_endpoint": self.url + "/oauth/revoke",
                    "app_registration_endpoint": self.url + "/api/v1/apps",
                    "scopes_supported": ["read", "write", "read:accounts", "write:statuses", "write:media"],
                    "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code", "client_credentials"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
                },
                {},
            )
        if path == "/api/v1/apps" and method == "POST":
            form = self._form(headers, body)
            uris = [u for u in (form.get("redirect_uris") or "").split("\n") if u]
            if not form.get("client_name") or not uris:
                return 422, {"error": "Validation failed: Application name can't be blank"}, {}
            with self.lock:
                client_id = "cid-" + self.new_id()
                app = {
                    "client_secret": "csecret-" + self.new_id(),
                    "redirect_uris": uris,
                    "scopes": (form.get("scopes") or "read").split(),
                    "name": form["client_name"],
                }
                self.apps[client_id] = app
            return (
                200,
                {
                    "id": self.new_id(),
                    "name": app["name"],
                    "website": form.get("website"),
                    "scopes": app["scopes"],
                    "redirect_uri": "\n".join(uris),
                    "redirect_uris": uris,
                    "client_id": client_id,
                    "client_secret": app["client_secret"],
                    "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
                },
                {},
            )
        if path == "/oauth/authorize" and method == "GET":
            q = {k: v[0] for k, v in query.items()}
            app = self.apps.get(q.get("client_id", ""))
            scopes = (q.get("scope") or "").split()
            if (
                app is None
                or q.get("response_type") != "code"
                or q.get("redirect_uri") not in app["redirect_uris"]
                or not scopes
                or not set(scopes) <= set(app["scopes"])
            ):
                return 400, {"error": "invalid_request"}, {}
            sep = "&" if "?" in q["redirect_uri"] else "?"
            state = f"&state={quote(q['state'])}" if q.get("state") else ""
            if not self.consent_acct:
                return 302, {}, {"Location": f"{q['redirect_uri']}{sep}error=access_denied{state}"}
            with self.lock:
                code = "code-" + self.new_id()
                self.codes[code] = {
                    "client_id": q["client_id"],
                    "redirect_uri": q["redirect_uri"],
                    "scope": " ".join(scopes),
                    "acct": self.consent_acct,
                }
            return 302, {}, {"Location": f"{q['redirect_uri']}{sep}code={code}{state}"}
        if path == "/oauth/token" and method == "POST":
            form = self._form(headers, body)
            with self.lock:
                grant = self.codes.pop(form.get("code") or "", None)  # a code works once
                app = self.apps.get(form.get("client_id") or "")
                if (
                    form.get("grant_type") != "authorization_code"
                    or grant is None
                    or app is None
                    or app["client_secret"] != form.get("client_secret")
                    or grant["client_id"] != form.get("client_id")
                    or grant["redirect_uri"] != form.get("redirect_uri")
                ):
                    return (
                        400,
                        {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid"},
                        {},
                    )
                token = "mastodon-oauth-" + self.new_id()
                self.tokens[token] = grant["acct"]
            return (
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "scope": grant["scope"],
                    "created_at": int(time.time()),
                },
                {},
            )
        return None

    def _account(self, headers) -> str | None:
        auth = headers.get("Authorization") or ""
        return self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None

    def route(self, method, path, query, headers, body):
        path = path.rstrip("/")
        answer = self._oauth(method, path, query, headers, body)
        if answer is not None:
            return answer
        if path == "/api/v2/instance":
            statuses = {
                "max_characters": self.max_characters,
                "max_media_attachments": 4,
                "characters_reserved_per_url": 23,
            }
            return 200, {"domain": "127.0.0.1", "version": "4.3.2", "configuration": {"statuses": statuses}}, {}
        account = self._account(headers)
        if account is None:
            return 401, {"error": "The access token is invalid"}, {}
        if path == "/api/v1/accounts/verify_credentials":
            return 200, {"id": "109" + str(abs(hash(account)) % 1000), "username": account, "acct": account}, {}
        if path == "/api/v2/media" and method == "POST":
            parts = _multipart_files(headers.get("Content-Type", ""), body)
            with self.lock:
                media_id = "m" + self.new_id()
                description = (parts.get("description") or b"").decode()
                self.media[media_id] = (hashlib.sha256(parts.get("file") or b"").hexdigest(), description)
            return (
                200,
                {"id": media_id, "type": "image", "url": f"{self.url}/media/{media_id}", "description": description},
                {},
            )
        if path == "/api/v1/statuses" and method == "POST":
            return self._status(account, headers, body)
        return 404, {"error": "Record not found"}, {}

    def _status(self, account, headers, body):
        if "json" in (headers.get("Content-Type") or ""):
            form = json.loads(body or b"{}")
        else:
            raw = parse_qs(body.decode(), keep_blank_values=True)
            form = {k: (v if k.endswith("[]") else v[0]) for k, v in raw.items()}
        if time.time() < self.rate_limit_until:
            with self.lock:
                self.rate_limited += 1
            reset = datetime.fromtimestamp(self.rate_limit_until, tz=UTC).isoformat().replace("+00:00", "Z")
            headers_out = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
            return 429, {"error": "Too many requests"}, headers_out
        key = headers.get("Idempotency-Key") or ""
        token = (headers.get("Authorization") or "")[7:]
        media_ids = form.get("media_ids[]") or form.get("media_ids") or []
        with self.lock:
            if key and (token, key) in self.idempotent:
                self.replayed += 1
                return 200, self.idempotent[(token, key)], {}
            if len(form.get("status") or "") > self.max_characters:
                return 422, {"error": "Validation failed: Text character limit of 500 exceeded"}, {}
            status_id = self.new_id()
            status = {
                "id": status_id,
                "content": f"<p>{form.get('status', '')}</p>",
                "in_reply_to_id": form.get("in_reply_to_id"),
                "visibility": form.get("visibility") or "public",
                "spoiler_text": form.get("spoiler_text") or "",
                "sensitive": str(form.get("sensitive")).lower() in ("true", "1"),
                "media_attachments": [{"id": m} for m in media_ids],
                "account": {"id": "1", "acct": account},
                "uri": f"{self.url}/users/{account}/statuses/{status_id}",
            }
            self.creations.append(
                Post(
                    post_id=status_id,
                    account=account,
                    text=form.get("status") or "",
                    media_hashes=tuple(self.media[m][0] for m in media_ids),
                    alt_texts=tuple(self.media[m][1] for m in media_ids),
                    in_reply_to=form.get("in_reply_to_id") or "",
                    extra={k: status[k] for k in ("visibility", "spoiler_text", "sensitive")},
                )
            )
            if key:
                self.idempotent[(token, key)] = status
        return 200, status, {}


def _jwt(payload: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part(payload)}.c2ln"


class BlueskyDouble(_Double):
    def __init__(self, *, accounts: dict[str, str] | None = None):
        super().__init__()
        self.accounts = accounts or {"alice.bsky.social": "app-pass-1234"}  # handle -> app password
        self.dids = {handle: f"did:plc:{hashlib.sha256(handle.encode()).hexdigest()[:24]}" for handle in self.accounts}
        self.access: dict[str, str] = {}  # access token -> handle
        self.refresh: dict[str, str] = {}
        self.records: dict[tuple[str, str], dict] = {}  # (did, rkey) -> {"uri", "cid", "value"}
        self.blobs: dict[str, str] = {}  # cid -> sha256
        self.sessions_created = 0

    def _session(self, handle: str) -> dict:
        did, now = self.dids[handle], int(time.time())
        access = _jwt({"scope": "com.atproto.appPass", "sub": did, "iat": now, "exp": now + 7200, "jti": self.new_id()})
        refresh = _jwt(
            {"scope": "com.atproto.refresh", "sub": did, "iat": now, "exp": now + 86400 * 60, "jti": self.new_id()}
        )
        self.access[access], self.refresh[refresh] = handle, handle
        return {"accessJwt": access, "refreshJwt": refresh, "handle": handle, "did": did, "active": True}

    def _bearer(self, headers) -> str:
        auth = headers.get("Authorization") or ""
        return auth[7:] if auth.startswith("Bearer ") else ""

    def route(self, method, path, query, headers, body):
        nsid = path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession":
            data = json.loads(body)
            with self.lock:
                if self.accounts.get(data.get("identifier", "").lower()) != data.get("password"):
                    return 401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, {}
                self.sessions_created += 1
                return 200, self._session(data["identifier"].lower()), {}
        if nsid == "com.atproto.server.refreshSession":
            with self.lock:
                handle = self.refresh.pop(self._bearer(headers), None)
                if handle is None:
                    return 400, {"error": "ExpiredToken", "message": "Token has been revoked"}, {}
                return 200, self._session(handle), {}
        if nsid == "com.atproto.identity.resolveHandle":
            handle = (query.get("handle") or [""])[0]
            did = self.dids.get(handle) or (
                f"did:plc:{hashlib.sha256(handle.encode()).hexdigest()[:24]}" if handle.endswith(".test") else ""
            )
            if not did:
                return 400, {"error": "InvalidRequest", "message": "Unable to resolve handle"}, {}
            return 200, {"did": did}, {}
        handle = self.access.get(self._bearer(headers))
        if handle is None:
            return 401, {"error": "AuthenticationRequired", "message": "Invalid token"}, {}
        did = self.dids[handle]
        if nsid == "com.atproto.server.getSession":
            return 200, {"handle": handle, "did": did, "active": True}, {}
        if nsid == "com.atproto.repo.uploadBlob":
            cid = fake_cid("blob" + hashlib.sha256(body).hexdigest())
            with self.lock:
                self.blobs[cid] = hashlib.sha256(body).hexdigest()
            mime = headers.get("Content-Type") or ""
            if "/" not in mime or "*" in mime:  # the PDS sniffs what the client did not say
                mime = filetype.guess_mime(body) or "application/octet-stream"
            return 200, {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(body)}}, {}
        if nsid == "com.atproto.repo.getRecord":
            rkey = (query.get("rkey") or [""])[0]
            with self.lock:
                found = self.records.get((did, rkey))
            if found is None:
                return 400, {"error": "RecordNotFound", "message": "Could not locate record"}, {}
            return 200, found, {}
        if nsid == "com.atproto.repo.createRecord":
            return self._create(handle, did, json.loads(body))
        return 501, {"error": "MethodNotImplemented"}, {}

    def _embed_error(self, embed) -> str:
        """What the PDS's lexicon check would refuse in an embed, or "" (images, external)."""
        if not embed:
            return ""
        kind = embed.get("$type")
        if kind == "app.bsky.embed.images":
            return "" if all(self._blob_error(i.get("image")) == "" for i in embed.get("images") or []) else "bad image"
        if kind != "app.bsky.embed.external":
            return f"embed type {kind!r} not handled by the double"
        external = embed.get("external")
        if not isinstance(external, dict):
            return "Record/embed/external must be an object"
        for name in ("uri", "title", "description"):
            if not isinstance(external.get(name), str):
                return f"Record/embed/external must have the property {name!r} as a string"
        if not external["uri"].startswith(("http://", "https://")):
            return "Record/embed/external/uri must be a valid uri"
        if "thumb" in external:
            return self._blob_error(external["thumb"])
        return ""

    def _blob_error(self, blob) -> str:
        if not isinstance(blob, dict) or blob.get("$type") != "blob":
            return "thumb must be a blob ref"
        link = (blob.get("ref") or {}).get("$link")
        with self.lock:
            known = link in self.blobs
        if not known:
            return "blob not found (not uploaded)"
        if not str(blob.get("mimeType", "")).startswith("image/") or not 0 < int(blob.get("size", 0)) <= 1_000_000:
            return "blob is not an image of at most 1,000,000 bytes"
        return ""

    def _create(self, handle, did, data):
        if time.time() < self.rate_limit_until:
            with self.lock:
                self.rate_limited += 1
            headers = {
                "ratelimit-limit": "5000",
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(int(self.rate_limit_until)),
            }
            return 429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers
        if data.get("repo") != did or data.get("collection") != "app.bsky.feed.post":
            return 400, {"error": "InvalidRequest", "message": "bad repo or collection"}, {}
        record = data["record"]
        refused = self._embed_error(record.get("embed"))
        if refused:
            return 400, {"error": "InvalidRequest", "message": refused}, {}
        with self.lock:
            rkey = data.get("rkey") or self.new_id()
            if (did, rkey) in self.records:
                return 400, {"error": "InvalidRequest", "message": "Record already exists"}, {}
            uri = f"at://{did}/app.bsky.feed.post/{rkey}"
            cid = fake_cid(uri + json.dumps(record, sort_keys=True))
            self.records[(did, rkey)] = {"uri": uri, "cid": cid, "value": record}
            images = ((record.get("embed") or {}).get("images")) or []
            self.creations.append(
                Post(
                    post_id=uri,
                    account=handle,
                    text=record.get("text") or "",
                    media_hashes=tuple(self.blobs.get(i["image"]["ref"]["$link"], "") for i in images),
                    alt_texts=tuple(i.get("alt", "") for i in images),
                    in_reply_to=((record.get("reply") or {}).get("parent") or {}).get("uri", ""),
                    extra={"record": record, "rkey": rkey},
                )
            )
        return 200, {"uri": uri, "cid": cid, "commit": {"cid": fake_cid("commit" + uri), "rev": "3l" + rkey[2:]}}, {}
