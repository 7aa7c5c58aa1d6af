"""A local HTTP double of Google's OAuth token endpoint and the Drive v3 ``files`` and ``about`` endpoints.

Each Google account has files in folders (``root`` is its own root). The token endpoint
checks the client, the redirect URI and PKCE (the verifier must hash to the challenge
the consent step registered, ``consent``), and hands out access tokens that map to one
account; Drive answers only with a token it issued (or the operator's key), and lists or
serves only that account's files (404 for anyone else's, as Google does). Every request
is recorded with its ``Authorization`` header, so a test can assert whose token was sent.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "cradle-client-id"
CLIENT_SECRET = "cradle-client-secret-XYZ"


@dataclass
class Seen:
    method: str
    path: str
    authorization: str
    query: dict
    form: dict


@dataclass
class Account:
    email: str
    # folder id -> [{"id", "name", "mimeType", "description"}]
    folders: dict[str, list[dict]] = field(default_factory=dict)
    content: dict[str, bytes] = field(default_factory=dict)  # file id -> bytes

    def file_ids(self) -> set[str]:
        return {f["id"] for files in self.folders.values() for f in files}


class GoogleDouble:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.codes: dict[str, tuple[str, str, str]] = {}  # code -> (account, challenge, redirect_uri)
        self.access: dict[str, str] = {}  # access token -> account
        self.refresh: dict[str, str] = {}  # refresh token -> account
        self.revoked: list[str] = []
        self.seen: list[Seen] = []
        self.expires_in = 3600
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    # --- what a test sets up -------------------------------------------------------
    def add_account(self, name: str, email: str, folders: dict[str, list[dict]]) -> Account:
        account = Account(email=email, folders=folders)
        for files in folders.values():
            for f in files:
                account.content[f["id"]] = f"bytes of {f['id']}".encode()
        self.accounts[name] = account
        return account

    def grant(self, account: str, token: str) -> None:
        """A token that reads ``account`` without OAuth (the operator's own credential)."""
        self.access[token] = account

    def consent(self, account: str, authorize_url: str) -> dict:
        """The owner says yes on Google's screen: a code for ``account``; the callback's query."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = f"code-{account}-{next(self._counter)}"
        self.codes[code] = (account, query["code_challenge"], query["redirect_uri"])
        return {"state": query["state"], "code": code}

    def tokens_sent(self) -> list[str]:
        return [s.authorization.removeprefix("Bearer ") for s in self.seen if s.authorization]

    def drive_calls(self) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith("/drive/")]

    # --- the server ------------------------------------------------------------------
    def __enter__(self) -> GoogleDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict | bytes) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "application/octet-stream" if isinstance(body, bytes) else "application/json"
                )
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, form: dict) -> Seen:
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    self.headers.get("Authorization", ""),
                    {k: v[0] for k, v in parse_qs(parts.query).items()},
                    form,
                )
                with double._lock:
                    double.seen.append(seen)
                return seen

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                seen = self._record(form)
                if seen.path == "/revoke":
                    double.revoked.append(form.get("token", ""))
                    return self._answer(200, {})
                if seen.path != "/token":
                    return self._answer(404, {"error": "not_found"})
                if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                    return self._answer(401, {"error": "invalid_client"})
                if form.get("grant_type") == "authorization_code":
                    issued = double.codes.pop(form.get("code", ""), None)
                    if issued is None:
                        return self._answer(400, {"error": "invalid_grant"})
                    account, challenge, redirect_uri = issued
                    digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                    if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
                        return self._answer(400, {"error": "invalid_grant", "error_description": "PKCE"})
                    if form.get("redirect_uri") != redirect_uri:
                        return self._answer(400, {"error": "redirect_uri_mismatch"})
                    refresh = f"rt-{account}-{next(double._counter)}"
                    double.refresh[refresh] = account
                elif form.get("grant_type") == "refresh_token":
                    refresh = form.get("refresh_token", "")
                    account = double.refresh.get(refresh)
                    if account is None or refresh in double.revoked:
                        return self._answer(400, {"error": "invalid_grant"})
                else:
                    return self._answer(400, {"error": "unsupported_grant_type"})
                access = f"at-{account}-{next(double._counter)}"
                double.access[access] = account
                body = {"access_token": access, "expires_in": double.expires_in, "token_type": "Bearer"}
                if form.get("grant_type") == "authorization_code":
                    body["refresh_token"] = refresh
                return self._answer(200, body)

            def do_GET(self) -> None:
                seen = self._record({})
                token = seen.authorization.removeprefix("Bearer ")
                account = double.accounts.get(double.access.get(token, ""))
                if account is None:
                    return self._answer(401, {"error": {"code": 401, "message": "Invalid Credentials"}})
                if seen.path == "/drive/v3/about":
                    return self._answer(200, {"user": {"emailAddress": account.email}})
                if seen.path == "/drive/v3/files":
                    folder = re.match(r"'([^']*)' in parents", seen.query.get("q", ""))
                    files = account.folders.get(folder.group(1) if folder else "")
                    if files is None:
                        return self._answer(404, {"error": {"code": 404, "message": "File not found"}})
                    return self._answer(200, {"files": files})
                file_id = seen.path.removeprefix("/drive/v3/files/")
                if seen.query.get("alt") == "media" and file_id in account.content:
                    return self._answer(200, account.content[file_id])
                return self._answer(404, {"error": {"code": 404, "message": "File not found"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
