"""Alerts to a project's owner: once per incident, by e-mail and a signed webhook (publishing.alerts).

The webhook goes to a real local HTTP server that verifies each request with the
``standardwebhooks`` package; X is the ``responses`` double of test_tweepy_publisher. The
counts are taken where the alerts arrive (the mail outbox, the receiver), not from our rows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.core import mail
from django.db import transaction
from django.utils import timezone

from cradle_site import webhooks
from publishing import alerts
from publishing.alert_models import AlertQuerySet, PublishingAlert
from publishing.factories import tasks_bulk_create
from publishing.models import Project, PublishingTask
from publishing.runner import publish_due
from publishing.services import project_set_credentials
from tests.clock import NOW

from .alert_receiver import AlertReceiver
from .conftest import SECRETS

pytestmark = pytest.mark.django_db
TWEETS = "https://api.twitter.com/2/tweets"
DUPLICATE = {"detail": "You are not allowed to create a Tweet with duplicate content.", "status": 403}
Kind = PublishingAlert.Kind
Status = PublishingTask.Status


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def receiver(settings):
    # The receiver listens on 127.0.0.1: only a test lets the outbound guard reach it.
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with AlertReceiver() as hook:
        yield hook


def _hook_up(project: Project, receiver: AlertReceiver) -> None:
    """Point the project's alerts at the receiver (the URL is http: set past the form's https rule)."""
    receiver.secret = webhooks.new_secret()
    Project.objects.filter(pk=project.pk).update(alert_webhook_url=receiver.url, alert_webhook_secret=receiver.secret)


def _due_tasks(project: Project, n: int, label: str) -> list[PublishingTask]:
    return tasks_bulk_create(project=project, count=n, scheduled_at=timezone.now() - timedelta(minutes=1), label=label)


def _publish_all() -> None:
    for _ in range(20):
        if not PublishingTask.objects.filter(status=Status.PENDING, scheduled_at__lte=timezone.now()).exists():
            return
        publish_due(run_seconds=5)
    raise AssertionError("tasks left pending")


@responses.activate
def test_it_sends_one_email_and_one_webhook_for_fifty_posts_failing_in_one_outage(x_project, receiver):
    responses.add_passthru("http://127.0.0.1")
    responses.post(TWEETS, json=DUPLICATE, status=403)
    _hook_up(x_project, receiver)
    _due_tasks(x_project, 50, "outage")
    _publish_all()
    assert PublishingTask.objects.filter(status=Status.FAILED).count() == 50

    alerts.alerts_send()
    alerts.alerts_send()  # a second run finds nothing left to send

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "Live" in mail.outbox[0].subject
    assert receiver.kinds() == ["post_failed"]
    assert receiver.refused == 0
    assert receiver.verified[0]["data"]["project"] == {"id": x_project.pk, "name": "Live"}


@responses.activate
def test_a_success_ends_the_incident_and_the_next_failure_alerts_again(x_project, receiver):
    responses.add_passthru("http://127.0.0.1")
    _hook_up(x_project, receiver)
    failing = responses.post(TWEETS, json=DUPLICATE, status=403)
    _due_tasks(x_project, 3, "first")
    _publish_all()
    alerts.alerts_send()
    assert (len(mail.outbox), receiver.kinds()) == (1, ["post_failed"])

    responses.remove(failing)
    ok = responses.post(TWEETS, json={"data": {"id": "99", "text": "ok"}}, status=201)
    _due_tasks(x_project, 1, "works")
    _publish_all()
    assert not PublishingAlert.objects.filter(open_marker=True).exists()

    responses.remove(ok)
    responses.post(TWEETS, json=DUPLICATE, status=403)
    _due_tasks(x_project, 2, "again")
    _publish_all()
    alerts.alerts_send()
    assert (len(mail.outbox), receiver.kinds()) == (2, ["post_failed", "post_failed"])
    assert len(set(receiver.ids)) == 2  # two incidents, two webhook ids


@responses.activate
def test_rejected_credentials_alert_once_and_new_credentials_end_it(x_project, receiver):
    responses.add_passthru("http://127.0.0.1")
    responses.post(TWEETS, json={"title": "Unauthorized"}, status=401)
    _hook_up(x_project, receiver)
    _due_tasks(x_project, 5, "auth")
    publish_due(run_seconds=5)
    x_project.refresh_from_db()
    assert x_project.needs_credentials
    # X says 401 again after the owner un-pauses by hand in the admin, say: still one incident.
    Project.objects.filter(pk=x_project.pk).update(needs_credentials=False)
    publish_due(run_seconds=5)
    alerts.alerts_send()
    alerts.alerts_send()
    assert len(mail.outbox) == 1
    assert receiver.kinds() == ["credentials_rejected"]

    project_set_credentials(project=Project.objects.get(pk=x_project.pk), **SECRETS)
    alert = PublishingAlert.objects.get()
    assert alert.resolved_at == NOW and alert.open_marker is None


def test_an_incident_resolved_before_its_send_is_not_sent_except_a_failed_post(project):
    alerts.alert_open(project_id=project.pk, kind=Kind.CREDENTIALS_REJECTED)
    alerts.alert_resolve(project_id=project.pk, kind=Kind.CREDENTIALS_REJECTED)
    alerts.alert_open(project_id=project.pk, kind=Kind.POST_FAILED)
    alerts.alert_resolve(project_id=project.pk, kind=Kind.POST_FAILED)
    assert alerts.alerts_send() == {"sent": 1, "skipped": 0, "failed": 0}
    assert len(mail.outbox) == 1


def test_opening_an_open_incident_loses_at_the_unique_constraint_and_keeps_the_callers_transaction(
    project, monkeypatch
):
    assert alerts.alert_open(project_id=project.pk, kind=Kind.CREDENTIALS_REJECTED)
    # As if a second process had read "none open" just before the first one's insert.
    monkeypatch.setattr(AlertQuerySet, "exists", lambda self: False)
    with transaction.atomic():
        assert not alerts.alert_open(project_id=project.pk, kind=Kind.CREDENTIALS_REJECTED)
        Project.objects.filter(pk=project.pk).update(description="still usable")  # the savepoint kept it
    assert PublishingAlert.objects.filter(project=project).count() == 1
    assert Project.objects.get(pk=project.pk).description == "still usable"


def test_a_failed_send_is_retried_and_sends_only_what_did_not_go(project, receiver, settings):
    _hook_up(project, receiver)
    receiver.fail_next = 1
    alerts.alert_open(project_id=project.pk, kind=Kind.POST_FAILED)
    assert alerts.alerts_send()["failed"] == 1
    assert len(mail.outbox) == 1 and receiver.verified == []
    alert = PublishingAlert.objects.get()
    assert alert.state == PublishingAlert.State.PENDING and alert.attempts == 1 and "HTTP 503" in alert.last_error
    assert alerts.alerts_send(now=NOW)["sent"] == 0  # not before its back-off
    later = NOW + timedelta(seconds=settings.PUBLISHING_RETRY_BASE_SECONDS)
    assert alerts.alerts_send(now=later)["sent"] == 1
    assert len(mail.outbox) == 1  # the e-mail had gone: not sent twice
    assert receiver.kinds() == ["post_failed"]


def test_the_email_is_in_the_owners_language(project):
    project.owner.language = "zh-hans"
    project.owner.save(update_fields=["language"])
    alerts.alert_open(project_id=project.pk, kind=Kind.CREDENTIALS_REJECTED)
    alerts.alerts_send()
    message = mail.outbox[0]
    assert "X 拒绝了凭据" in message.subject
    assert "队列已暂停" in message.body


def test_no_email_when_the_owner_turned_alerts_off(project):
    Project.objects.filter(pk=project.pk).update(alert_email=False)
    alerts.alert_open(project_id=project.pk, kind=Kind.POST_FAILED)
    assert alerts.alerts_send()["sent"] == 1
    assert mail.outbox == []


def test_a_source_alerts_after_the_configured_failures_in_a_row_and_a_working_scan_ends_it(
    folder_source, settings, monkeypatch
):
    from publishing import scan
    from publishing.sources import SourceError

    real_fetch = scan.fetch_items

    def unreachable(source):
        raise SourceError("the feed answered HTTP 503")

    monkeypatch.setattr(scan, "fetch_items", unreachable)
    for _ in range(settings.PUBLISHING_ALERT_SOURCE_FAILURES - 1):
        scan.source_scan(source=folder_source)
    assert not PublishingAlert.objects.exists()
    scan.source_scan(source=folder_source)
    scan.source_scan(source=folder_source)  # still failing: the same incident
    alert = PublishingAlert.objects.get()
    assert (alert.kind, alert.key, alert.open_marker) == (Kind.SOURCE_FAILING, f"source:{folder_source.pk}", True)
    assert "HTTP 503" in alert.detail
    monkeypatch.setattr(scan, "fetch_items", real_fetch)
    scan.source_scan(source=folder_source)
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    folder_source.refresh_from_db()
    assert folder_source.scan_failures == 0


def test_the_queue_running_dry_opens_and_ends_with_the_slots_it_covers(project, settings):
    settings.PUBLISHING_ALERT_DRY_HOURS = 24  # every 30 minutes: 48 slots in a day
    start = NOW + timedelta(hours=1)
    tasks_bulk_create(project=project, count=47, scheduled_at=start)
    assert alerts.queues_check(now=NOW) == {"opened": 1, "ended": 0}
    assert alerts.queues_check(now=NOW) == {"opened": 0, "ended": 0}  # still the same incident
    tasks_bulk_create(project=project, count=1, scheduled_at=start, label="more")
    assert alerts.queues_check(now=NOW) == {"opened": 0, "ended": 1}
    Project.objects.filter(pk=project.pk).update(paused=True)
    PublishingTask.objects.filter(project=project).update(status=Status.CANCELLED)
    assert alerts.queues_check(now=NOW) == {"opened": 0, "ended": 0}  # paused: not this alert's business


def test_a_project_without_posts_is_not_told_its_queue_is_empty(project):
    assert alerts.queues_check(now=NOW) == {"opened": 0, "ended": 0}


def test_the_owner_dismisses_an_alert_on_the_project_page(client, owner, project, other_user):
    alerts.alert_open(project_id=project.pk, kind=Kind.POST_FAILED, detail="#1: duplicate")
    alert = PublishingAlert.objects.get()
    client.force_login(owner)
    page = client.get(f"/publishing/projects/{project.pk}/")
    assert b"A post failed for good" in page.content
    client.force_login(other_user)
    url = f"/publishing/projects/{project.pk}/alerts/{alert.pk}/dismiss/"
    assert client.post(url).status_code == 404
    client.force_login(owner)
    assert client.post(url).status_code == 302
    alert.refresh_from_db()
    assert alert.resolved_at is not None


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.com/x", "invalid_url"),
        ("https://127.0.0.1/hook", "private_address"),
        ("https://10.0.0.7/hook", "private_address"),
        ("not a url", "invalid_url"),
    ],
)
def test_a_bad_webhook_url_is_refused(url, code):
    with pytest.raises(Exception) as info:
        webhooks.clean_webhook_url(url)
    assert info.value.code == code


def test_the_api_refuses_a_private_webhook_url_with_a_400_on_the_field(api_client_for, owner, project):
    client = api_client_for(owner, ["publishing:read", "publishing:write"])
    answer = client.patch(f"/api/v1/publishing/projects/{project.pk}", {"alert_webhook_url": "https://192.168.1.1/h"})
    assert answer.status_code == 400
    assert "alert_webhook_url" in answer.json()["error"]["fields"]
    assert Project.objects.get(pk=project.pk).alert_webhook_url == ""


def test_the_api_sets_a_webhook_url_and_shows_its_secret_only_to_a_post(api_client_for, owner, project):
    client = api_client_for(owner, ["publishing:read", "publishing:write"])
    url = f"/api/v1/publishing/projects/{project.pk}"
    answer = client.patch(url, {"alert_webhook_url": "https://hooks.example.com/cradle"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["alert_webhook_url"] == "https://hooks.example.com/cradle"
    stored = Project.objects.get(pk=project.pk).alert_webhook_secret
    assert stored.startswith("whsec_")
    # Never in a GET or a PATCH answer: only the POST below shows it.
    assert stored not in answer.content.decode() and stored not in client.get(url).content.decode()
    shown = client.post(f"{url}/alert-webhook-secret", {})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert shown.json()["alert_webhook_secret"] == stored
    # A second save keeps the secret: the receiver was told it once.
    client.patch(url, {"alert_email": False})
    assert Project.objects.get(pk=project.pk).alert_webhook_secret == stored
    renewed = client.post(f"{url}/alert-webhook-secret", {"regenerate": True}, format="json").json()
    assert renewed["alert_webhook_secret"] != stored
    assert Project.objects.get(pk=project.pk).alert_webhook_secret == renewed["alert_webhook_secret"]


def test_the_secret_needs_a_write_scope_and_a_webhook(api_client_for, owner, project):
    reader = api_client_for(owner, ["publishing:read"])
    assert reader.post(f"/api/v1/publishing/projects/{project.pk}/alert-webhook-secret", {}).status_code == 403
    writer = api_client_for(owner, ["publishing:read", "publishing:write"])
    answer = writer.post(f"/api/v1/publishing/projects/{project.pk}/alert-webhook-secret", {})
    assert answer.status_code == 400  # no webhook URL: nothing to sign for
    assert Project.objects.get(pk=project.pk).alert_webhook_secret == ""


def test_the_page_shows_the_secret_only_after_a_post(client, owner, project):
    Project.objects.filter(pk=project.pk).update(
        alert_webhook_url="https://hooks.example.com/cradle", alert_webhook_secret="whsec_" + "B" * 43 + "="
    )
    client.force_login(owner)  # a fresh log-in: within the re-authentication window
    page = client.get(f"/publishing/projects/{project.pk}/")
    assert page.status_code == 200 and "whsec_" not in page.content.decode()
    shown = client.post(f"/publishing/projects/{project.pk}/alert-webhook-secret/", {"do": "show"})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert "whsec_" + "B" * 43 + "=" in shown.content.decode()
    assert Project.objects.get(pk=project.pk).alert_webhook_secret == "whsec_" + "B" * 43 + "="
    renewed = client.post(f"/publishing/projects/{project.pk}/alert-webhook-secret/", {"do": "regenerate"})
    secret = Project.objects.get(pk=project.pk).alert_webhook_secret
    assert secret != "whsec_" + "B" * 43 + "=" and secret in renewed.content.decode()


def test_another_owner_cannot_see_the_secret(client, other_user, project):
    Project.objects.filter(pk=project.pk).update(
        alert_webhook_url="https://hooks.example.com/cradle", alert_webhook_secret="whsec_" + "C" * 43 + "="
    )
    client.force_login(other_user)
    answer = client.post(f"/publishing/projects/{project.pk}/alert-webhook-secret/", {"do": "show"})
    assert answer.status_code == 404


def test_the_form_refuses_a_private_webhook_url(client, owner, project):
    client.force_login(owner)
    page = client.post(
        f"/publishing/projects/{project.pk}/",
        {
            "name": project.name,
            "slot_interval_minutes": 30,
            "daily_cap": 1000,
            "duplicate_window_days": 30,
            "alert_email": "on",
            "alert_webhook_url": "https://127.0.0.1/hook",
        },
    )
    assert page.status_code == 200
    assert "alert_webhook_url" in page.context["form"].errors
    assert Project.objects.get(pk=project.pk).alert_webhook_url == ""
