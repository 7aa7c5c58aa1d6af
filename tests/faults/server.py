"""A private MariaDB server the fault tests may SIGKILL, and a webhook receiver that records every POST.

``PrivateMariaDB`` runs ``mariadbd`` from a fresh datadir in a temporary folder on its own
port (not the suite's server: killing that one would break every other test), with
``--skip-grant-tables`` so root needs no password. ``kill()`` is a SIGKILL - InnoDB
recovers from its redo log on ``start()``, as after a power cut.

``Receiver`` is an ``http.server`` in a thread of the test process: it records each POST
(path, headers, body) the moment the request has been read - that is when the far end has
the message - and then answers, after a delay the test chooses per request.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"


class PrivateMariaDB:
    def __init__(self, base: Path, *, port: int = 3407) -> None:
        self.base = base
        self.port = port
        self.datadir = base / "data"
        self.socket = base / "mariadb.sock"
        self.log = base / "mariadbd.log"
        self.process: subprocess.Popen | None = None

    def url(self, name: str) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{name}"

    def install(self) -> None:
        self.datadir.mkdir(parents=True)
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, timeout: float = 60) -> None:
        self.process = subprocess.Popen(
            [
                MARIADBD,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.socket}",
                f"--pid-file={self.base / 'mariadbd.pid'}",
                "--skip-grant-tables",
                "--skip-name-resolve",
                "--user=root",
                "--innodb-buffer-pool-size=64M",
                "--innodb-log-file-size=16M",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                f"--log-error={self.log}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not answer within {timeout} s")
            time.sleep(0.1)

    def ping(self) -> bool:
        result = subprocess.run(
            ["mysqladmin", "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot", "--connect-timeout=2", "ping"],
            capture_output=True,
        )
        return result.returncode == 0

    def sql(self, statement: str) -> None:
        subprocess.run(
            ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot", "-e", statement],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; the next start recovers."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request had been read


class Receiver:
    """Records every POST; ``delay(path, n)`` says how long to wait before answering the n-th POST to a path."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.lock = threading.Lock()
        self.counts: dict[str, int] = defaultdict(int)
        self.delay = lambda path, n: 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.counts[self.path] += 1
                    n = receiver.counts[self.path]
                    receiver.posts.append(Post(self.path, dict(self.headers), body, time.monotonic()))
                time.sleep(receiver.delay(self.path, n))
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up (timeout) or died: it already arrived

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def by_path(self) -> dict[str, list[Post]]:
        with self.lock:
            grouped: dict[str, list[Post]] = defaultdict(list)
            for post in self.posts:
                grouped[post.path].append(post)
            return grouped
