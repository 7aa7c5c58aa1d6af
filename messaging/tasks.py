"""django-q2 entry points, one per job (thin: each calls one module and beats).

Each job does one thing, so a stuck or failing one shows up under its own name on
/healthz and in the cluster's log, and each can be scaled or paused on its own:

- ``sweep``: advance due messages one step (queue a warning, or start the delivery), and
  complete any message left in ``delivering`` with every recipient served;
- ``send_warnings``: send the owner's warning e-mails the sweep queued;
- ``send_deliveries``: deliver to recipients, retrying failures at the back-off;
- ``alarm_staff``: raise the staff alarm for deliveries not sent in time, and e-mail ``ADMINS``
  every alarm not yet sent (a refusal raises its own, with the failure);
- ``trusted_grants``: grant trusted contacts' requests whose waiting period is over (``messaging.trusted``);
- ``send_named_notices``: tell the recipients who asked for it that they are named (messaging.named);
- ``purge_attachments`` (hourly): delete attachments past their owner's "N days after delivery".
"""

from __future__ import annotations

from cradle_site import health
from messaging.alarms import alarms_raise, alarms_send
from messaging.attachments import attachments_purge
from messaging.delivery import deliveries_send, messages_complete
from messaging.named_sending import named_notices_send
from messaging.notices import warnings_send
from messaging.sweep import sweep_due
from messaging.trusted import access_grants_due


def sweep() -> dict:
    result = sweep_due()
    completed = messages_complete()
    # Beat last: a job that crashes before here shows up as stale on /healthz.
    health.beat("messaging.sweep")
    return {
        "advanced": result.advanced,
        "warned": result.warned,
        "deliveries_started": result.delivering,
        "completed": completed,
    }


def send_warnings() -> dict:
    counts = warnings_send()
    health.beat("messaging.send_warnings")
    return counts


def send_deliveries() -> dict:
    counts = deliveries_send()
    health.beat("messaging.send_deliveries")
    return counts


def alarm_staff() -> dict:
    raised = alarms_raise()
    counts = alarms_send()
    health.beat("messaging.alarm_staff")
    return {"raised": raised, **counts}


def send_named_notices() -> dict:
    counts = named_notices_send()
    health.beat("messaging.send_named_notices")
    return counts


def purge_attachments() -> dict:
    removed = attachments_purge()
    health.beat("messaging.purge_attachments")
    return {"removed": removed}


def trusted_grants() -> dict:
    granted = access_grants_due()
    health.beat("messaging.trusted_grants")
    return {"granted": granted}
