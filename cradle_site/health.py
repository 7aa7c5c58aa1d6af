"""The cluster heartbeat: jobs call ``beat(name)``; ``report()`` says who is late.

A stopped cluster is the one failure a dead man's switch must never hide: if the sweep
does not run, nobody is warned and nothing is delivered. The heartbeat lives in the
database (not the cache) so every web process sees the same value.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F
from django.utils import timezone

from cradle_site.models import Heartbeat

# The beats that must be fresh for the site to be healthy: the ladder, the two senders of
# messaging (a stopped one means warnings or deliveries silently wait), the staff alarm
# (stopped, nobody hears of a delivery that needs a person) and the publisher.
REQUIRED_BEATS = (
    "messaging.sweep",
    "messaging.send_warnings",
    "messaging.send_deliveries",
    "messaging.alarm_staff",
    "messaging.trusted_grants",  # stopped, a trusted contact's request would wait past its time
    "publishing.publish",
)


def beat(name: str) -> None:
    now = timezone.now()
    updated = Heartbeat.objects.filter(name=name).update(last_beat=now, beats=F("beats") + 1)
    if not updated:
        Heartbeat.objects.get_or_create(name=name, defaults={"last_beat": now, "beats": 1})


def report() -> dict:
    """The site's health as JSON-ready data: ``ok`` is False when the database fails or a
    required job is late.

    Every query sits inside the one ``DatabaseError`` guard, so a database that drops
    between two of them (or freezes until the read timeout) gives a 503 report, not a 500.
    """
    # The site layer asks; messaging knows.
    from messaging.alarms import deliveries_needing_staff as needing_staff
    from messaging.notices import warnings_failing
    from ops.health import backups_report

    now = timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        beats = {hb.name: hb for hb in Heartbeat.objects.all()}
        warning_emails_failing = warnings_failing()
        deliveries_needing_staff = needing_staff(now=now)
        backups = backups_report(now)
    except DatabaseError as exc:
        return {"ok": False, "database": f"error: {exc.__class__.__name__}", "jobs": {}}
    stale_after = timedelta(seconds=settings.CRADLE_HEARTBEAT_STALE_SECONDS)
    jobs = {}
    ok = True
    for name in sorted(set(REQUIRED_BEATS) | set(beats)):
        hb = beats.get(name)
        if hb is None:
            jobs[name] = {"last_run": None, "stale": True}
        else:
            jobs[name] = {"last_run": hb.last_beat.isoformat(), "stale": now - hb.last_beat > stale_after}
        if name in REQUIRED_BEATS and jobs[name]["stale"]:
            ok = False
    return {
        "ok": ok,
        "database": "ok",
        "jobs": jobs,
        "warning_emails_failing": warning_emails_failing,
        "deliveries_needing_staff": deliveries_needing_staff,
        "backups": backups,
    }


def needs_a_person(report: dict) -> bool:
    """What ``/healthz?strict=1`` (the monitor that pages someone) adds to ``ok``: a warning
    e-mail that keeps failing, a delivery refused for good or not sent in time, or a backup,
    binlog archive or restore drill that failed or is late (``ops.health``)."""
    return bool(
        report.get("warning_emails_failing")
        or report.get("deliveries_needing_staff", {}).get("count")
        or report.get("backups", {}).get("problems")
    )
