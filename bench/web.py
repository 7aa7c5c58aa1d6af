"""Pages, API and admin at 100,000 rows (issue 11): per-request timings, then gunicorn under load.

    export DATABASE_URL=mysql://root@127.0.0.1:3306/cradle_bench_web
    DEBUG=1 .venv/bin/python manage.py init_db           # once, creates the tables
    .venv/bin/python bench/web.py --scale 0.01           # the 1k data set
    .venv/bin/python bench/web.py --scale 1.0            # 100,000 messages, 1,000,000 logs

Builds the data set of ``bench/web_data.py`` at ``--scale`` (reused when the database
already holds it; ``--rebuild`` forces it), then for every page, API list/detail and admin
changelist prints one JSON line: the queries per request (``CaptureQueriesContext``, the most
seen) and p50/p95 over ``--requests`` sequential requests through Django's test client, after
one warm-up request. Then it starts gunicorn (2 workers, a random port) and, per busy endpoint,
runs ``--clients`` concurrent clients (each a ``requests.Session`` signed in through the login
page, or holding an API key) for ``--seconds``: requests/s, p95, errors, and the workers' peak
RSS, one JSON line each.

It runs with ``DEBUG=0`` (production templates, static manifest, no debug cursor), over plain
HTTP on 127.0.0.1 (``SECURE_SSL_REDIRECT=0``) and with a bench secret and Fernet key, set here
unless the environment sets them. Every line carries ``os.getloadavg()``: compare runs on an
idle machine. Targets (issue 11): pages and API p50 < 100 ms and p95 < 250 ms at 100k, admin
changelists p50 < 500 ms, each at most 3x its 1k figure; no error under load; RSS < 150 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "cradle_site.settings",
    "DATABASE_URL": "mysql://root@127.0.0.1:3306/cradle_bench_web",
    "DEBUG": "0",
    "SECRET_KEY": "bench-web-secret-key-not-for-production-0123456789abcdefghij",
    "FERNET_KEYS": "YmVuY2gtd2ViLWZlcm5ldC1rZXktMzItYnl0ZXMhISE=",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SITE_URL": "http://127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_HSTS_SECONDS": "0",
    # The load run is one user on four connections: the per-user API throttle is not measured here.
    "API_THROTTLE_USER": "1000000/min",
    "LOG_LEVEL": "WARNING",
}
for _name, _value in BENCH_ENV.items():
    os.environ.setdefault(_name, _value)

PAGE, API, ADMIN = "page", "api", "admin"
# The API's cursor for the last page: reverse, from the end (DRF's encoding of {"r": "1"}).
LAST_CURSOR = "cj0x"


def emit(line: dict) -> None:
    line["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(line), flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the 95th of 30 samples is the 29th fastest."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))]


def endpoints(ds) -> list[tuple[str, str, str]]:
    """(name, kind, url) for every list, detail and changelist, first and last pages."""
    from django.utils import timezone

    from messaging.models import Message
    from messaging.views import _cursor_of
    from publishing.models import PublishingLog, PublishingTask

    oldest_message = Message.objects.filter(owner_id=ds.heavy_id).order_by("created_at", "id")[50]
    oldest_task = PublishingTask.objects.filter(project__owner_id=ds.heavy_id).order_by("scheduled_at", "id")[50]
    oldest_log = PublishingLog.objects.filter(project__owner_id=ds.heavy_id).order_by("published_at", "id")[50]
    today = timezone.localdate()
    year = f"from={today - timedelta(days=365)}&to={today}"
    month = f"from={today - timedelta(days=30)}&to={today}"  # the longest hourly export (HOURLY_MAX_DAYS)
    return [
        ("messages page", PAGE, "/messages/"),
        ("messages page, last", PAGE, f"/messages/?before={_cursor_of(oldest_message)}"),
        ("message page", PAGE, f"/messages/{ds.message_id}/"),
        ("projects page", PAGE, "/publishing/"),
        ("project page", PAGE, f"/publishing/projects/{ds.project_id}/"),
        ("queue page", PAGE, "/publishing/queue/"),
        ("queue page, last", PAGE, f"/publishing/queue/?after={oldest_task.pk}"),
        ("queue page, pending", PAGE, "/publishing/queue/?status=pending"),
        ("logs page", PAGE, "/publishing/logs/"),
        ("logs page, last", PAGE, f"/publishing/logs/?after={oldest_log.pk}"),
        ("statistics page", PAGE, "/stats/"),
        ("statistics page, 1 year", PAGE, f"/stats/?{year}"),  # auto: per week
        ("statistics page, 1 year per day", PAGE, f"/stats/?{year}&interval=day"),
        ("statistics CSV, 1 year", PAGE, f"/stats/publishing/export.csv?{year}"),  # auto: per day past 31 days
        ("statistics CSV, 31 days per hour", PAGE, f"/stats/publishing/export.csv?{month}&interval=hour"),
        ("statistics CSV, 1 year per day", PAGE, f"/stats/publishing/export.csv?{year}&interval=day"),
        ("project statistics, 1 year", PAGE, f"/stats/projects/{ds.project_id}/?{year}"),
        ("API messages", API, "/api/v1/messages"),
        ("API messages, last", API, f"/api/v1/messages?cursor={LAST_CURSOR}"),
        ("API message", API, f"/api/v1/messages/{ds.message_id}"),
        ("API tasks", API, "/api/v1/publishing/tasks"),
        ("API tasks, last", API, f"/api/v1/publishing/tasks?cursor={LAST_CURSOR}"),
        ("API task", API, f"/api/v1/publishing/tasks/{ds.task_id}"),
        ("API logs", API, "/api/v1/publishing/logs"),
        ("API logs, last", API, f"/api/v1/publishing/logs?cursor={LAST_CURSOR}"),
        ("API projects", API, "/api/v1/publishing/projects"),
        ("API project", API, f"/api/v1/publishing/projects/{ds.project_id}"),
        ("API statistics, 1 year", API, f"/api/v1/analytics/publishing/daily?{year}"),
        ("API message statistics, 1 year", API, f"/api/v1/analytics/messages/daily?{year}"),
        ("API statistics, 1 year weekly", API, f"/api/v1/analytics/publishing/weekly?{year}"),
        ("admin messages", ADMIN, "/admin/messaging/message/"),
        ("admin messages, ?q=id", ADMIN, f"/admin/messaging/message/?q={ds.message_id}"),
        ("admin messages, ?q=e-mail", ADMIN, f"/admin/messaging/message/?q={ds.other_email}"),
        ("admin messages, state filter", ADMIN, "/admin/messaging/message/?state__exact=revoked"),
        ("admin logs", ADMIN, "/admin/publishing/publishinglog/"),
        ("admin logs, ?q=tweet", ADMIN, f"/admin/publishing/publishinglog/?q={ds.tweet_id}"),
        ("admin logs, ?q=task", ADMIN, f"/admin/publishing/publishinglog/?q={ds.task_id}"),
        ("admin logs, status filter", ADMIN, "/admin/publishing/publishinglog/?status__exact=failed"),
        ("admin tasks", ADMIN, "/admin/publishing/publishingtask/"),
        ("admin tasks, ?q=id", ADMIN, f"/admin/publishing/publishingtask/?q={ds.task_id}"),
        ("admin tasks, status filter", ADMIN, "/admin/publishing/publishingtask/?status__exact=failed"),
    ]


def _body_size(response, started: float) -> tuple[int, float]:
    """The body's bytes, and when its first byte was ready (``perf_counter``): a streamed
    export starts its download there, however long the rest takes."""
    if not response.streaming:
        return len(response.content), time.perf_counter()
    chunks = iter(response.streaming_content)
    first = next(chunks, b"")
    first_at = time.perf_counter()
    return len(first) + sum(len(chunk) for chunk in chunks), first_at


def explain(connection, captured) -> None:
    """Each SELECT of one request with its time and its plan, on stderr (``--explain``)."""
    for query in captured:
        sql = query["sql"]
        print(f"\n-- {query['time']} s: {sql}", file=sys.stderr)
        if connection.vendor == "mysql" and sql.lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN {sql}")
                names = [c[0] for c in cursor.description]
                for row in cursor.fetchall():
                    print("   ", dict(zip(names, row, strict=True)), file=sys.stderr)


def measure(ds, requests_per: int, only: str | None, show_plans: bool = False) -> None:
    """One JSON line per endpoint through the test client (in this process)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.api_keys import apikey_create
    from accounts.models import User

    heavy = User.objects.get(pk=ds.heavy_id)
    secret = apikey_create(
        user=heavy, name="bench-web", permissions=["messages:read", "publishing:read", "analytics:read"]
    ).secret
    owner, staff, api = Client(), Client(), Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    owner.force_login(heavy)
    # The back office wants a second factor (accounts.mfa): with a confirmed device, a
    # forced log-in counts as both steps; without one every changelist was a redirect.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.get_or_create(user_id=ds.staff_id, name="bench-web", defaults={"confirmed": True})
    staff.force_login(User.objects.get(pk=ds.staff_id))
    clients = {PAGE: owner, API: api, ADMIN: staff}
    for name, kind, url in endpoints(ds):
        if only and not re.search(only, name):
            continue
        client = clients[kind]
        timings, first_bytes, queries, errors, size, status = [], [], 0, 0, 0, 200
        for i in range(requests_per + 1):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                size, first_at = _body_size(response, started)
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                errors += 1
                status = response.status_code
            queries = max(queries, len(captured))
            if i:  # the first request warms the caches (and the connection)
                timings.append(elapsed * 1000)
                first_bytes.append((first_at - started) * 1000)
            elif show_plans:
                print(f"\n=== {name}: {url}", file=sys.stderr)
                explain(connection, captured)
        emit(
            {
                "endpoint": name,
                "kind": kind,
                "url": url,
                "scale": ds.scale,
                "queries": queries,
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(percentile(timings, 95), 1),
                "bytes": size,
                "status": status,
                "errors": errors,
                **({"first_byte_p50_ms": round(statistics.median(first_bytes), 1)} if response.streaming else {}),
            }
        )


# --- gunicorn under load ------------------------------------------------------------------


def _signed_in(base: str, username: str, password: str):
    """A session signed in through the login page. Its cookies are Secure (DEBUG=0) and the
    bench serves plain HTTP on the loopback, so they are sent back by hand in one header."""
    import requests

    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    csrf = page.cookies["csrftoken"]
    answer = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/", "Cookie": f"csrftoken={csrf}"},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login failed: {answer.status_code}")
    session.cookies.clear()
    session.headers["Cookie"] = f"sessionid={answer.cookies['sessionid']}; csrftoken={csrf}"
    return session


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _start_gunicorn(port: int) -> subprocess.Popen:
    import requests

    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "cradle_site.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).status_code == 200:
                if len(_children(proc.pid)) >= 2:
                    return proc
        except requests.RequestException:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("gunicorn did not start")


LOAD_ENDPOINTS = ["messages page", "API messages", "queue page", "logs page", "statistics page"]


def load(ds, *, clients: int, seconds: float) -> None:
    from accounts.api_keys import apikey_create
    from accounts.models import User
    from bench.web_data import HEAVY, PASSWORD

    secret = apikey_create(
        user=User.objects.get(pk=ds.heavy_id), name="bench-web-load", permissions=["messages:read", "publishing:read"]
    ).secret
    urls = {name: (kind, url) for name, kind, url in endpoints(ds)}
    port = random.randint(20000, 45000)
    base = f"http://127.0.0.1:{port}"
    server = _start_gunicorn(port)
    try:
        sessions = [_signed_in(base, HEAVY, PASSWORD) for _ in range(clients)]
        for name in LOAD_ENDPOINTS:
            kind, url = urls[name]
            headers = {"Authorization": f"Bearer {secret}"} if kind == API else {}
            _load_one(name, base + url, sessions, headers, seconds, server.pid, ds.scale)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _load_one(name: str, url: str, sessions, headers: dict, seconds: float, master: int, scale: float) -> None:
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(session):
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                response = session.get(url, headers=headers, timeout=60, allow_redirects=False)
                response.content  # noqa: B018 - read the whole body, as a browser does
                failed = None if response.status_code == 200 else f"HTTP {response.status_code}"
            except Exception as exc:  # a refused or dropped connection is an error of the run
                failed = type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                timings.append(elapsed)
                if failed:
                    errors.append(failed)

    workers = _children(master)
    peak = dict.fromkeys(workers, 0.0)
    threads = [threading.Thread(target=client, args=(s,)) for s in sessions]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        for pid in workers:
            peak[pid] = max(peak[pid], _rss_mb(pid))
        time.sleep(0.25)
    elapsed = time.perf_counter() - started
    emit(
        {
            "endpoint": name,
            "kind": "load",
            "url": url.split("/", 3)[-1],
            "scale": scale,
            "clients": len(sessions),
            "seconds": round(elapsed, 1),
            "requests": len(timings),
            "requests_per_s": round(len(timings) / elapsed, 1),
            "p50_ms": round(statistics.median(timings), 1) if timings else None,
            "p95_ms": round(percentile(timings, 95), 1) if timings else None,
            "errors": len(errors),
            "error_kinds": sorted(set(errors)),
            "worker_rss_mb": [round(v, 1) for v in peak.values()],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 messages; 0.01 = 1,000")
    parser.add_argument("--rebuild", action="store_true", help="build the data set again even if present")
    parser.add_argument("--requests", type=int, default=30, help="sequential requests per endpoint")
    parser.add_argument("--only", help="a regular expression: measure only the endpoints it matches")
    parser.add_argument("--explain", action="store_true", help="print each query's plan on stderr")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients in the load run")
    parser.add_argument("--seconds", type=float, default=20, help="seconds of load per endpoint")
    parser.add_argument("--no-load", action="store_true", help="skip the gunicorn run")
    args = parser.parse_args()
    if args.scale <= 0 or args.requests < 1:
        parser.error("--scale and --requests must be positive")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.web_data import data_set

    if not (ROOT / "staticfiles" / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG=0 serves the manifest
    ds = data_set(args.scale, rebuild=args.rebuild)
    emit(
        {
            "data_set": connection.vendor,
            "scale": ds.scale,
            "messages": ds.messages,
            "tasks": ds.tasks,
            "logs": ds.logs,
        }
    )
    measure(ds, args.requests, args.only, args.explain)
    if not args.no_load:
        connection.close()
        load(ds, clients=args.clients, seconds=args.seconds)


if __name__ == "__main__":
    main()
