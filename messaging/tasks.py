"""django-q2 entry points (thin: they call the sweep, the outbox and delivery)."""

from __future__ import annotations

from cradle_site import health
from messaging.delivery import deliveries_send
from messaging.notices import notices_send
from messaging.sweep import sweep_due


def sweep() -> dict:
    """Every minute: advance due messages, send the warnings, start deliveries."""
    result = sweep_due()
    notices = notices_send()
    deliveries = deliveries_send()
    # Beat last: a sweep that crashes before here shows up as stale on /healthz.
    health.beat("messaging.sweep")
    return {"advanced": result.advanced, "warned": result.warned, "notices": notices, "deliveries": deliveries}


def deliver() -> dict:
    """Every minute: retry deliveries and notices whose back-off has passed."""
    deliveries = deliveries_send()
    notices = notices_send()
    health.beat("messaging.deliver")
    return {"deliveries": deliveries, "notices": notices}
