"""A local webhook receiver for the alert tests: a real HTTP server that verifies every
request with the ``standardwebhooks`` package, as a receiver of Cradle's alerts would.

It answers 204 to a request whose signature verifies with ``secret`` and 401 otherwise;
``fail_next`` answers 503 to that many verified requests first (a receiver that is down).
``verified`` holds the payloads it accepted, ``refused`` counts the rest.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


class AlertReceiver:
    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.verified: list[dict] = []
        self.ids: list[str] = []
        self.refused = 0
        self.fail_next = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                with receiver.lock:
                    try:
                        payload = Webhook(receiver.secret).verify(body, headers)
                    except WebhookVerificationError:
                        receiver.refused += 1
                        status = 401
                    else:
                        if receiver.fail_next:
                            receiver.fail_next -= 1
                            status = 503
                        else:
                            receiver.verified.append(payload)
                            receiver.ids.append(headers["webhook-id"])
                            status = 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cradle"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AlertReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def kinds(self) -> list[str]:
        return [payload["data"]["kind"] for payload in self.verified]

    def dump(self) -> str:
        return json.dumps(self.verified, indent=1)
