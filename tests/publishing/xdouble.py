"""A tiny local X double for tests with several processes: it counts every tweet posted.

``responses`` patches requests inside one process only; worker processes reach this
server instead, through ``PUBLISHING_X_BASE_URL`` (tweepy's own code builds and signs
each request; only the host changes).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class XDouble:
    def __init__(self):
        self.posts: Counter[str] = Counter()
        self.lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/2/tweets":
                    return self._reply(404, {"title": "Not Found"})
                text = json.loads(body)["text"]
                with double.lock:
                    double.posts[text] += 1
                    number = sum(double.posts.values())
                self._reply(201, {"data": {"id": str(10_000 + number), "text": text}})

            def _reply(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> XDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.posts.values())
