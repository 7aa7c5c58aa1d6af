"""Addresses users give us (feeds, enclosures, webhooks) may not reach inside the server's network."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from django.core.exceptions import ValidationError
from django.utils import timezone

from cradle_site.outbound import UnsafeURL, check_public_url, public_get
from messaging.models import Delivery, Message, Recipient
from messaging.services import message_create
from publishing.models import PublishingLog, PublishingTask
from publishing.runner import publish_due
from publishing.scan import source_scan
from publishing.services import source_create, task_create
from tests.jobs import messaging_minute

PUBLIC = "http://93.184.215.14"  # a public address literal: no DNS needed


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:6379/",
        "http://10.1.2.3/feed",
        "https://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "ftp://93.184.215.14/",
        "http:///nohost",
        "http://[::1/",  # a malformed IPv6 literal: urlsplit raises ValueError
        "http://[zz]/",
        f"http://{'a' * 64}.com/",  # a label over 63 characters: urllib3 raised ValueError at fetch time
        "http://a..b/",
    ],
)
def test_inside_addresses_and_other_schemes_are_refused(url):
    with pytest.raises(UnsafeURL):
        check_public_url(url)


@pytest.mark.parametrize("url", [f"{PUBLIC}/feed.xml", "https://[2606:4700::1111]/", "https://no-such-host.invalid/"])
def test_public_and_unresolvable_hosts_pass(url):
    check_public_url(url)


def test_the_setting_lets_development_reach_local_services(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    check_public_url("http://127.0.0.1:8000/feed.xml")


@responses.activate
def test_a_redirect_into_the_network_is_refused_before_it_is_followed():
    responses.get(f"{PUBLIC}/feed.xml", status=302, headers={"Location": "http://127.0.0.1:6379/"})
    secret = responses.get("http://127.0.0.1:6379/", body="+PONG")
    with pytest.raises(UnsafeURL):
        public_get(f"{PUBLIC}/feed.xml", timeout=5)
    assert secret.call_count == 0


class _LocalServer:
    """A real HTTP server on 127.0.0.1 that counts the requests it is sent."""

    def __init__(self):
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                server.hits += 1
                body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.django_db
def test_a_feed_inside_the_network_is_refused_and_never_fetched(owner, settings):
    from publishing.services import project_create

    project = project_create(owner=owner, name="P", slot_interval_minutes=30, daily_cap=10)
    local = _LocalServer()
    try:
        with pytest.raises(ValidationError) as error:
            source_create(project=project, source_type="rss_feed", path_or_identifier=local.url)
        assert "inside this server's network" in error.value.message_dict["path_or_identifier"][0]
        # One stored before the rule (or through a name that now resolves inside) is refused at fetch time.
        settings.OUTBOUND_ALLOW_PRIVATE = True
        source = source_create(project=project, source_type="rss_feed", path_or_identifier=local.url)
        settings.OUTBOUND_ALLOW_PRIVATE = False
        result = source_scan(source=source)
        assert "inside this server's network" in result.error and local.hits == 0
        settings.OUTBOUND_ALLOW_PRIVATE = True
        assert source_scan(source=source).error == "" and local.hits == 1
    finally:
        local.close()


@pytest.mark.django_db
def test_a_feed_whose_host_is_not_a_host_name_is_refused_and_scans_to_an_error(owner):
    from publishing.models import ContentSource
    from publishing.services import project_create

    project = project_create(owner=owner, name="P", slot_interval_minutes=30, daily_cap=10)
    url = f"http://{'a' * 70}.com/feed.xml"
    with pytest.raises(ValidationError) as error:
        source_create(project=project, source_type="rss_feed", path_or_identifier=url)
    assert "is not a valid host name" in error.value.message_dict["path_or_identifier"][0]
    # One stored before the rule: the scan (page, API, job) reports it instead of raising.
    source = ContentSource.objects.create(project=project, source_type="rss_feed", path_or_identifier=url)
    assert "is not a valid host name" in source_scan(source=source).error


@pytest.mark.django_db
def test_a_webhook_inside_the_network_is_a_400_and_is_never_called(owner, api_client_for):
    api = api_client_for(owner, ["messages:write"])
    body = {
        "content": "hello",
        "initial_delay_months": 1,
        "recipients": [{"name": "Hook", "contact": "https://10.0.0.5/hook", "contact_type": "webhook"}],
    }
    response = api.post("/api/v1/messages/", body, format="json")
    assert response.status_code == 400
    assert "recipients[0].contact" in response.json()["error"]["fields"]

    message, _key = message_create(
        owner=owner,
        title="",
        content="hello",
        initial_delay_months=1,
        recipients=[{"name": "Hook", "contact": "https://hooks.example.com/x", "contact_type": "webhook"}],
    )
    Recipient.objects.filter(message=message).update(contact="https://10.0.0.5/hook")
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=timezone.now())
    with responses.RequestsMock() as mocked:  # any request at all would fail this test
        messaging_minute()
        assert len(mocked.calls) == 0
    delivery = Delivery.objects.get(message=message)
    assert delivery.state == Delivery.State.PENDING and "inside this server's network" in delivery.last_error


@pytest.mark.django_db
@responses.activate
def test_an_enclosure_inside_the_network_fails_the_post_as_media(owner, settings, tmp_path):
    from publishing.services import project_create, project_set_credentials
    from tests.publishing.conftest import SECRETS

    project = project_set_credentials(
        project=project_create(owner=owner, name="Live", slot_interval_minutes=30, daily_cap=10), **SECRETS
    )
    task = task_create(project=project, text="Look")
    PublishingTask.objects.filter(pk=task.pk).update(
        content_data={"text": "Look", "media": {"kind": "url", "url": "http://169.254.169.254/latest/meta-data/"}},
        scheduled_at=timezone.now() - timedelta(seconds=1),
    )
    publish_due(run_seconds=5)
    task.refresh_from_db()
    log = task.logs.get()
    assert (task.status, log.error_kind) == (PublishingTask.Status.FAILED, PublishingLog.ErrorKind.MEDIA)
    assert "inside this server's network" in log.error_message
    assert len(responses.calls) == 0
