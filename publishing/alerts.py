"""Alerts to a project's owner: an e-mail (in their language) and an optional signed webhook, once per incident.

An incident is a ``PublishingAlert`` row (``publishing.alert_models``); the database keeps
at most one open incident per (project, kind, key), so opening one is an insert that a
second process, thread or failed task simply loses (``alert_open``). The row is also the
alert's outbox: ``alerts_send`` (a schedule, every minute) claims it with a lease
(``cradle_site.leases``), sends what has not gone yet and retries the rest at the back-off
(``cradle_site.retry``). Publishing never waits on a send: the hooks below only write rows,
and a hook that fails is logged, never raised into the publishing path.

When an incident opens and when it ends:

- ``post_failed`` (key ""): a task reached FAILED. One open incident per project, so 50 tasks
  failing in one outage give one alert. It ends when a post of the project is published
  again, or when the owner dismisses it on the project page; the next failure after that
  is a new incident and a new alert. An alert for it is sent even if a success ended the
  incident before the send: the post still failed, and the owner should know.
- ``credentials_rejected`` (key ""): X answered 401 and the project's queue paused
  (``needs_credentials``). Ends when the owner saves or clears the credentials.
- ``source_failing`` (key "source:<id>"): ``PUBLISHING_ALERT_SOURCE_FAILURES`` scans in a row
  failed. Ends with the next scan that works.
- ``queue_running_dry`` (key ""): the live project's pending posts cover fewer slots than
  the next ``PUBLISHING_ALERT_DRY_HOURS`` hours hold (``queues_check``, a schedule). Ends
  when the queue covers them again. A project that never had a post is not told.

The last three are not sent when they ended before the send (the condition passed).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cradle_site import webhooks
from cradle_site.audit_vocabulary import EventType
from cradle_site.mail_errors import mail_failure
from cradle_site.outbound import OutboundError, open_url
from cradle_site.retry import Backoff
from cradle_site.text import one_line
from messaging.sending import SendOutcome
from ops.audit import audit_record
from publishing.alert_models import ALERT_LEASE, PublishingAlert
from publishing.models import ContentSource, Project, PublishingTask
from publishing.scheduling import slots_between

log = logging.getLogger(__name__)
Kind = PublishingAlert.Kind
State = PublishingAlert.State
# Sent even when the incident ended before the send (see the module's docstring).
SENT_EVEN_IF_RESOLVED = frozenset({Kind.POST_FAILED})


def alert_backoff() -> Backoff:
    # Never given up while the incident lasts: an alert raised during a mail outage must arrive.
    return Backoff(base=settings.PUBLISHING_RETRY_BASE_SECONDS, cap=settings.PUBLISHING_RETRY_MAX_SECONDS)


# --- incidents ---------------------------------------------------------------------------


def alert_open(*, project_id: int, kind: str, key: str = "", detail: str = "", now: datetime | None = None) -> bool:
    """Open the incident unless one is open already; True when this call opened it.

    The unique constraint decides, not the read before it: two callers that both see none
    both insert, one insert wins and the other's IntegrityError is the answer "already open".
    """
    open_rows = PublishingAlert.objects.filter(project_id=project_id, kind=kind, key=key, open_marker=True)
    if open_rows.exists():
        return False
    now = now or timezone.now()
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction: only this insert is undone
            PublishingAlert.objects.create(
                project_id=project_id, kind=kind, key=key, detail=detail[:2000], opened_at=now, next_attempt_at=now
            )
    except IntegrityError:
        return False
    return True


def alert_resolve(*, project_id: int, kind: str, key: str | None = "", now: datetime | None = None) -> int:
    """End the open incident(s) of this kind (``key=None``: every key); return how many ended."""
    rows = PublishingAlert.objects.filter(project_id=project_id, kind=kind, open_marker=True)
    if key is not None:
        rows = rows.filter(key=key)
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        return 0
    now = now or timezone.now()
    ended = PublishingAlert.objects.filter(pk__in=ids, open_marker=True).update(open_marker=None, resolved_at=now)
    PublishingAlert.objects.filter(pk__in=ids, state=State.PENDING).exclude(kind__in=SENT_EVEN_IF_RESOLVED).update(
        state=State.SKIPPED
    )
    return ended


def alert_dismiss(*, project: Project, alert_id: int) -> int:
    """The owner has seen it: end that open incident of their project (the page's button)."""
    alert = PublishingAlert.objects.filter(project=project, pk=alert_id, open_marker=True).first()
    if alert is None:
        return 0
    with transaction.atomic():
        resolved = alert_resolve(project_id=project.pk, kind=alert.kind, key=alert.key)
        audit_record(
            EventType.PROJECT_CHANGED,
            user=project.owner_id,
            obj=project,
            label=project.name,
            changed=["alerts"],
            data={"alert_dismissed": alert.kind},
        )
    return resolved


def _safely(hook):
    """A hook never breaks publishing or a scan: it is logged and the incident waits for the next event."""

    def run(*args, **kwargs):
        try:
            return hook(*args, **kwargs)
        except Exception:
            log.exception("alert hook %s failed", hook.__name__)
            return None

    run.__name__ = hook.__name__
    run.__doc__ = hook.__doc__
    return run


@_safely
def task_failed_for_good(task: PublishingTask) -> None:
    alert_open(project_id=task.project_id, kind=Kind.POST_FAILED, detail=f"#{task.pk}: {task.last_error}")


@_safely
def task_published(project_id: int) -> None:
    alert_resolve(project_id=project_id, kind=Kind.POST_FAILED)


@_safely
def credentials_rejected(project_id: int) -> None:
    alert_open(project_id=project_id, kind=Kind.CREDENTIALS_REJECTED)


@_safely
def account_rejected(task: PublishingTask) -> None:
    """A network account answered 401: one incident per account (its key)."""
    alert_open(project_id=task.project_id, kind=Kind.CREDENTIALS_REJECTED, key=f"account:{task.account_id}")


@_safely
def account_reconnected(project_id: int, account_id: int) -> None:
    alert_resolve(project_id=project_id, kind=Kind.CREDENTIALS_REJECTED, key=f"account:{account_id}")


@_safely
def credentials_replaced(project_id: int) -> None:
    alert_resolve(project_id=project_id, kind=Kind.CREDENTIALS_REJECTED)


def _source_key(source_id: int) -> str:
    return f"source:{source_id}"


@_safely
def source_scan_failed(source: ContentSource, *, failures: int, error: str) -> None:
    if failures >= settings.PUBLISHING_ALERT_SOURCE_FAILURES:
        alert_open(project_id=source.project_id, kind=Kind.SOURCE_FAILING, key=_source_key(source.pk), detail=error)


@_safely
def source_scan_worked(source: ContentSource) -> None:
    alert_resolve(project_id=source.project_id, kind=Kind.SOURCE_FAILING, key=_source_key(source.pk))


def queue_running_dry(project: Project, *, now: datetime) -> bool:
    """Whether the pending posts cover fewer slots than the next PUBLISHING_ALERT_DRY_HOURS hold."""
    needed = slots_between(project=project, start=now, end=now + timedelta(hours=settings.PUBLISHING_ALERT_DRY_HOURS))
    if not needed:
        return False
    waiting = PublishingTask.objects.filter(
        project=project, status__in=[PublishingTask.Status.PENDING, PublishingTask.Status.LOCKED]
    )
    return waiting[:needed].count() < needed


def queues_check(*, now: datetime | None = None) -> dict[str, int]:
    """The schedule's job: open or end each live project's "queue running dry" incident."""
    now = now or timezone.now()
    counts = {"opened": 0, "ended": 0}
    projects = (
        Project.objects.filter(paused=False, needs_credentials=False)
        .filter(pk__in=PublishingTask.objects.values("project_id"))
        .select_related("owner")
    )
    for project in projects.iterator():
        if queue_running_dry(project, now=now):
            counts["opened"] += alert_open(project_id=project.pk, kind=Kind.QUEUE_RUNNING_DRY, now=now)
        else:
            counts["ended"] += alert_resolve(project_id=project.pk, kind=Kind.QUEUE_RUNNING_DRY, now=now)
    return counts


# --- project settings ----------------------------------------------------------------------


def webhook_fields(project: Project, url: str) -> dict[str, str]:
    """The columns to write for a new webhook URL: a signing secret is made with the first one."""
    url = webhooks.clean_webhook_url(url)
    fields = {"alert_webhook_url": url}
    if url and not project.alert_webhook_secret:
        fields["alert_webhook_secret"] = webhooks.new_secret()
    return fields


def webhook_secret_regenerate(*, project: Project) -> str:
    """A new signing secret for the project's alert webhook; the old one stops verifying at once."""
    if not project.alert_webhook_url:
        raise ValidationError(_("Set an alert webhook URL first."), code="no_webhook")
    secret = webhooks.new_secret()
    with transaction.atomic():
        Project.objects.filter(pk=project.pk).update(alert_webhook_secret=secret)
        # The field's name only, never the secret.
        audit_record(
            EventType.PROJECT_CHANGED,
            user=project.owner_id,
            obj=project,
            label=project.name,
            changed=["alert_webhook_secret"],
        )
    project.alert_webhook_secret = secret
    return secret


# --- delivery ------------------------------------------------------------------------------


def _payload(alert: PublishingAlert) -> dict:
    return {
        "type": f"publishing.{alert.kind}",
        "timestamp": alert.opened_at.isoformat(),
        "data": {
            "alert_id": alert.pk,
            "project": {"id": alert.project_id, "name": alert.project.name},
            "kind": alert.kind,
            "key": alert.key,
            "detail": alert.detail,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        },
    }


def _send_email(alert: PublishingAlert) -> None:
    owner = alert.project.owner
    with translation.override(owner.language):
        context = {
            "alert": alert,
            "project": alert.project,
            "owner": owner,
            "kind": alert.get_kind_display(),
            "link": settings.SITE_URL + reverse("publishing:project_detail", args=[alert.project_id]),
            "source_failures": settings.PUBLISHING_ALERT_SOURCE_FAILURES,
            "dry_hours": settings.PUBLISHING_ALERT_DRY_HOURS,
        }
        subject = one_line(
            _("Cradle: %(kind)s in %(project)s") % {"kind": alert.get_kind_display(), "project": alert.project.name}
        )
        body = render_to_string("publishing/email/alert.txt", context)
    mail = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])
    try:
        mail.send()
    except Exception as exc:  # SMTP errors come in many classes: mail_failure sorts them
        raise RuntimeError(f"e-mail: {mail_failure(exc, what=f'publishing alert {alert.pk}')}") from exc


def _send_webhook(alert: PublishingAlert) -> None:
    project = alert.project
    if not project.alert_webhook_secret:
        raise RuntimeError("webhook: the project has no signing secret")
    body = json.dumps(_payload(alert), ensure_ascii=False).encode("utf-8")
    # The same webhook-id on every attempt: a receiver drops a copy it already has.
    headers = webhooks.signed_headers(
        secret=project.alert_webhook_secret, webhook_id=f"alert_{alert.pk}", at=timezone.now(), body=body
    )
    timeout = settings.PUBLISHING_HTTP_TIMEOUT
    try:
        with open_url(
            project.alert_webhook_url,
            method="POST",
            timeout=timeout,
            deadline=2 * timeout,
            ok_statuses=None,
            data=body,
            headers=headers,
        ) as response:
            status = response.status_code
    except OutboundError as exc:
        raise RuntimeError(f"webhook: {exc}") from exc
    if not 200 <= status < 300:
        raise RuntimeError(f"webhook: HTTP {status}")


def _send_one(alert: PublishingAlert, now: datetime) -> bool:
    """Send what has not gone yet; record each channel as it goes. True when all went."""
    project = alert.project
    errors = []
    if project.alert_email and project.owner.email and alert.email_sent_at is None:
        try:
            _send_email(alert)
        except Exception as exc:
            errors.append(str(exc))
        else:
            PublishingAlert.objects.filter(pk=alert.pk).update(email_sent_at=timezone.now())
    if project.alert_webhook_url and alert.webhook_sent_at is None:
        try:
            _send_webhook(alert)
        except Exception as exc:
            errors.append(str(exc))
        else:
            PublishingAlert.objects.filter(pk=alert.pk).update(webhook_sent_at=timezone.now())
    if errors:
        attempts = alert.attempts + 1
        PublishingAlert.objects.filter(pk=alert.pk, state=State.SENDING).update(
            **ALERT_LEASE.released(
                state=State.PENDING,
                attempts=attempts,
                last_error="; ".join(errors)[:2000],
                next_attempt_at=now + alert_backoff().delay(attempts),
            )
        )
        return False
    PublishingAlert.objects.filter(pk=alert.pk).update(
        **ALERT_LEASE.released(state=State.SENT, notified_at=timezone.now(), last_error="")
    )
    return True


def alerts_send(*, now: datetime | None = None, limit: int = 100, run_seconds: float = 50.0) -> dict[str, int]:
    """The schedule's job: send the due alerts; return how many were sent, skipped and failed."""
    now = now or timezone.now()
    deadline = time.monotonic() + run_seconds
    counts = {SendOutcome.SENT: 0, SendOutcome.SKIPPED: 0, SendOutcome.FAILED: 0}
    claim = ALERT_LEASE.claim(PublishingAlert.objects.all(), now=now, limit=limit)
    alerts = list(PublishingAlert.objects.filter(pk__in=claim.ids).select_related("project__owner").order_by("id"))
    for index, alert in enumerate(alerts):
        if time.monotonic() >= deadline:
            ALERT_LEASE.give_back([a.pk for a in alerts[index:]], claim.lease_until)
            break
        if ALERT_LEASE.hold(alert.pk, claim.lease_until) is None:
            continue  # taken back by another worker after this claim's lease ran out: theirs now
        if alert.resolved_at is not None and alert.kind not in SENT_EVEN_IF_RESOLVED:
            PublishingAlert.objects.filter(pk=alert.pk).update(**ALERT_LEASE.released(state=State.SKIPPED))
            counts[SendOutcome.SKIPPED] += 1
            continue
        counts[SendOutcome.SENT if _send_one(alert, now) else SendOutcome.FAILED] += 1
    return counts
