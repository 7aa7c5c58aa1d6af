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

``hang_after_create`` makes the double record a creation and then not answer until
``release`` is set: the test kills the worker while X has the post and the worker does not
know it (``created`` is set when that point is reached).
"""

from __future__ import annotations

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
        self.created = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self._next_id = 10_000
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def do_GET(self):  # noqa: N802 - the http.server API
                if self.path != "/_double/creations":
                    return self._reply(404, {"title": "Not Found"})
                with double.lock:
                    rows = [asdict(creation) for creation in double.creations]
                self._reply(200, {"creations": rows})

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?", 1)[0]
                if path == "/2/tweets":
                    return self._create_tweet(json.loads(body))
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

            def _create_tweet(self, payload: dict):
                match = _OAUTH_TOKEN.search(self.headers.get("Authorization", ""))
                account = match.group(1) if match else ""
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
