"""No error a user sees carries the request: no query string, secret, socket wording or exception repr.

Every path that stores or shows an outbound failure is driven for real (scan from the
service, the API and the page; the admin; a webhook delivery through the jobs; an
enclosure through the publisher) against a fake network whose hosts refuse, reset or hang
up, and every text the user can reach is searched for what must not be there.
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from django.utils.html import escape
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from urllib3.exceptions import MaxRetryError, NewConnectionError

from cradle_site.outbound_errors import Kind, describe, outbound_failure, redact
from messaging.models import Delivery, Message, StatusLog
from messaging.services import message_create
from publishing.models import ContentSource, PublishingLog, PublishingTask
from publishing.publishers import classify
from publishing.runner import publish_due
from publishing.scan import source_scan
from publishing.services import project_create, project_set_credentials, task_create
from tests.jobs import messaging_minute
from tests.publishing.conftest import SECRETS
from tests.site.outbound_doubles import FakeNetwork, LocalServers

SECRET = "AIzaSyLEAKEDKEY0123456789"
NEVER = [
    SECRET,
    "?",
    "key=",
    "token=",
    "Pool",
    "Errno",
    "Max retries",
    "refused",
    "reset",
    "RemoteDisconnected",
    "Connection aborted",
    "object at",
    "Error(",
    "Exception",
    "Traceback",
]

# Three public addresses the fake network routes to three misbehaving local ports; the names
# (closed.test, rst.test, hangs-up.test) avoid the words the sentences must not contain.
REFUSING, RESETTING, HANGING_UP = "93.184.216.1", "93.184.216.2", "93.184.216.3"


def _assert_clean(text: str) -> None:
    for fragment in NEVER:
        assert fragment not in text, f"{fragment!r} in {text!r}"


class _Misbehaving:
    """A closed port, a listener that resets each connection, and one that reads the request and hangs up."""

    def __init__(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.closed_port = probe.getsockname()[1]
        probe.close()
        self.listeners = []
        self.reset_port = self._serve(self._reset)
        self.hangup_port = self._serve(self._hang_up)

    def _serve(self, behaviour) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        self.listeners.append(listener)

        def loop():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                behaviour(conn)

        threading.Thread(target=loop, daemon=True).start()
        return listener.getsockname()[1]

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    @staticmethod
    def _hang_up(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
        finally:
            conn.close()

    def close(self) -> None:
        for listener in self.listeners:
            listener.close()


@pytest.fixture
def network(monkeypatch, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_HOSTS = []
    settings.MESSAGING_WEBHOOK_TIMEOUT = 2
    settings.PUBLISHING_HTTP_TIMEOUT = 2
    internet = LocalServers({"/drive": _drive_refusal}, ipv6=False)
    bad = _Misbehaving()
    fake = FakeNetwork(monkeypatch, internet)
    fake.routes.update({REFUSING: bad.closed_port, RESETTING: bad.reset_port, HANGING_UP: bad.hangup_port})
    fake.names.update({"closed.test": [REFUSING], "rst.test": [RESETTING], "hangs-up.test": [HANGING_UP]})
    fake.names["drive.test"] = ["93.184.215.14"]
    yield fake
    bad.close()
    internet.close()


def _drive_refusal(handler) -> None:
    """Drive's 403, echoing the request line (and with it the key) as some servers do."""
    body = f'{{"error": {{"message": "bad key for {handler.path}"}}}}'.encode()
    handler.send_response(403)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _run_queued_jobs() -> None:
    """What a django-q2 worker would do with the queued scan jobs, here and now."""
    for queued in OrmQ.objects.all():
        import_string(queued.task["func"])(*queued.task["args"])
        queued.delete()


@pytest.fixture
def project(owner):
    return project_create(owner=owner, name="P", slot_interval_minutes=30, daily_cap=10)


@pytest.mark.django_db
def test_refused_reset_and_hung_up_read_the_same_so_ports_cannot_be_told_apart(network, project):
    errors = set()
    for host in ("closed.test", "rst.test", "hangs-up.test"):
        source = ContentSource.objects.create(
            project=project, source_type="rss_feed", path_or_identifier=f"http://{host}/feed.xml?key={SECRET}"
        )
        error = source_scan(source=source).error
        _assert_clean(error)
        errors.add(error.replace(host, "HOST"))
    assert errors == {"HOST: Couldn't reach HOST — check the address."} or errors == {
        "Couldn't reach HOST — check the address."
    }


@pytest.mark.django_db
def test_a_feed_error_is_clean_in_last_error_the_api_the_page_and_the_admin(
    network, project, owner, staff, client, api_client_for, django_capture_on_commit_callbacks
):
    source = ContentSource.objects.create(
        project=project,
        source_type="rss_feed",
        path_or_identifier=f"http://rst.test/feed.xml?key={SECRET}&token=t0k",
    )
    api = api_client_for(owner, ["publishing:read", "publishing:write"])
    with django_capture_on_commit_callbacks(execute=True):  # the job is queued on commit
        response = api.post(f"/api/v1/publishing/sources/{source.pk}/scan")
    assert response.status_code == 202  # the scan is a job (publishing.scan_runs)
    _run_queued_jobs()
    status = api.get(response.json()["status_url"])
    assert status.json()["status"] == "failed"
    _assert_clean(status.content.decode())
    source.refresh_from_db()
    assert source.last_error == "Couldn't reach rst.test — check the address."
    listed = api.get(f"/api/v1/publishing/projects/{project.pk}/sources")
    assert listed.status_code == 200 and source.last_error in listed.content.decode()
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/publishing/sources/{source.pk}/scan/")
    _run_queued_jobs()
    page = client.get(f"/publishing/projects/{project.pk}/")
    shown = page.content.decode().replace(source.path_or_identifier.replace("&", "&amp;"), "")
    assert escape(source.last_error) in shown
    for fragment in (SECRET, "Pool", "Errno", "Max retries", "RemoteDisconnected", "object at"):
        assert fragment not in shown
    client.force_login(staff)
    admin_page = client.get(f"/admin/publishing/contentsource/{source.pk}/change/").content.decode()
    assert escape(source.last_error) in admin_page


@pytest.mark.django_db
def test_a_drive_error_never_shows_the_api_key_or_the_answer_body(network, project, settings):
    settings.PUBLISHING_GOOGLE_DRIVE_BASE_URL = "http://drive.test/drive-api"
    source = ContentSource.objects.create(
        project=project, source_type="google_drive", path_or_identifier="FOLDER", credential=SECRET
    )
    error = source_scan(source=source).error
    assert error == "Google Drive: drive.test answered HTTP 403."
    settings.PUBLISHING_GOOGLE_DRIVE_BASE_URL = "http://hangs-up.test"
    error = source_scan(source=source).error
    _assert_clean(error)
    assert error == "Google Drive: Couldn't reach hangs-up.test — check the address."


@pytest.mark.django_db
def test_a_webhook_delivery_error_is_clean_in_the_delivery_the_history_and_the_pages(network, owner, staff, client):
    message, _key = message_create(
        owner=owner,
        title="",
        content="hello",
        initial_delay_months=1,
        recipients=[{"name": "Hook", "contact": f"https://rst.test/hook?token={SECRET}", "contact_type": "webhook"}],
    )
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=timezone.now())
    messaging_minute()
    delivery = Delivery.objects.get(message=message)
    assert delivery.last_error == "webhook: Couldn't reach rst.test — check the address."
    for log in StatusLog.objects.filter(message=message):
        _assert_clean(log.display_text)
    client.force_login(owner)
    contact = escape(message.recipients.get().contact)  # the owner's own address, shown as given
    detail = client.get(f"/messages/{message.pk}/").content.decode().replace(contact, "")
    assert escape(delivery.last_error) in detail and SECRET not in detail
    client.force_login(staff)
    admin_page = client.get(f"/admin/messaging/delivery/{delivery.pk}/change/").content.decode().replace(contact, "")
    assert escape(delivery.last_error) in admin_page
    assert all(fragment not in admin_page for fragment in (SECRET, "Pool", "Errno", "Max retries"))


@pytest.mark.django_db
def test_an_enclosure_error_is_clean_in_the_log_the_task_and_the_api(network, owner, api_client_for):
    project = project_set_credentials(
        project=project_create(owner=owner, name="Live", slot_interval_minutes=30, daily_cap=10), **SECRETS
    )
    task = task_create(project=project, text="Look")
    PublishingTask.objects.filter(pk=task.pk).update(
        content_data={"text": "Look", "media": {"kind": "url", "url": f"http://hangs-up.test/a.png?sig={SECRET}"}},
        scheduled_at=timezone.now() - timedelta(seconds=1),
    )
    publish_due(run_seconds=5)
    task.refresh_from_db()
    log = task.logs.get()
    assert log.error_kind == PublishingLog.ErrorKind.NETWORK
    assert log.error_message == "The media could not be fetched: Couldn't reach hangs-up.test — check the address."
    _assert_clean(task.last_error)
    api = api_client_for(owner, ["publishing:read"])
    body = api.get(f"/api/v1/publishing/tasks/{task.pk}").content.decode()
    assert SECRET not in body and "Pool" not in body and "Errno" not in body


def test_an_x_transport_error_is_a_sentence(settings):
    pool_error = requests.ConnectionError(
        MaxRetryError(None, "/2/tweets?x=1", NewConnectionError(None, "Failed: [Errno 111] Connection refused")),
        request=requests.Request("POST", "https://api.x.com/2/tweets?x=1").prepare(),
    )
    error = classify(pool_error, stage="post")
    assert error.message == "Couldn't reach api.x.com — check the address."


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (requests.ConnectTimeout("HTTPSConnectionPool(host='h', port=443): timed out"), Kind.TIMEOUT),
        (requests.ReadTimeout("read timed out"), Kind.TIMEOUT),
        (requests.exceptions.SSLError("certificate verify failed"), Kind.TLS),
        (requests.TooManyRedirects("Exceeded 5 redirects."), Kind.TOO_MANY_REDIRECTS),
        (requests.exceptions.ChunkedEncodingError("Connection broken"), Kind.BAD_ANSWER),
        (ConnectionResetError(104, "Connection reset by peer"), Kind.UNREACHABLE),
        (RuntimeError("<urllib3.connection.HTTPConnection object at 0x7f>"), Kind.UNREACHABLE),
    ],
)
def test_every_exception_maps_to_a_kind_and_a_sentence_with_only_the_host(exc, kind):
    got_kind, sentence = describe(exc, url=f"https://feeds.example.org:8443/rss?key={SECRET}")
    assert got_kind == kind
    assert "feeds.example.org" in sentence and "8443" not in sentence
    _assert_clean(sentence)


def test_the_log_gets_the_full_text_with_secrets_redacted(caplog):
    url = f"https://user:pw@feeds.example.org/rss?key={SECRET}"
    outbound_failure(requests.ConnectionError(f"cannot reach {url} (Authorization: Bearer abc.def)"), url=url)
    logged = caplog.text
    assert "ConnectionError" in logged and "feeds.example.org" in logged
    assert SECRET not in logged and "user:pw" not in logged and "abc.def" not in logged
    assert redact(f"GET /drive/v3/files?key={SECRET}&q=1") == "GET /drive/v3/files?key=[redacted]&q=1"


def test_the_sentence_is_translated():
    from django.utils import translation

    with translation.override("zh-hans"):
        _kind, sentence = describe(ConnectionResetError(104, "reset"), url="https://feeds.example.org/rss")
    assert sentence == "无法连接 feeds.example.org，请检查地址。"
