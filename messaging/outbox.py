"""Claiming rows to send (deliveries, notices) safely with several workers.

A row is claimed by moving it to ``sending`` with a lease, inside a transaction that
selected it with ``FOR UPDATE SKIP LOCKED`` (SQLite: under its single write lock). The
send happens after commit, outside any transaction; a worker that dies mid-send leaves a
row whose lease runs out, and the next run takes it again.

A batch can outlast its lease (a slow SMTP relay, webhooks that time out), and then
another worker may take its last rows back while it is still working through them. So
right before each send the worker renews that one row's lease with a compare-and-set on
the lease it holds (``hold``): whoever took the row back wrote a lease of its own, and
exactly one of the two renews it and sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone


def claim(queryset: models.QuerySet, *, now: datetime, limit: int, sending_state: str) -> tuple[list[int], datetime]:
    """Move up to ``limit`` rows of ``queryset`` to ``sending_state``; return their ids and the lease they hold."""
    lease_until = now + timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        ids = list(queryset.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if ids:
            queryset.model.objects.filter(id__in=ids).update(state=sending_state, lease_until=lease_until)
    return ids, lease_until


def lease_from_now() -> datetime:
    return timezone.now() + timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS)


def hold(model: type[models.Model], pk: int, *, sending_state: str, lease_until: datetime) -> datetime | None:
    """Renew the lease of one claimed row right before its send; None when it is no longer ours."""
    renewed = lease_from_now()
    updated = model.objects.filter(pk=pk, state=sending_state, lease_until=lease_until).update(lease_until=renewed)
    return renewed if updated else None


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: base x 2^(attempts-1), capped."""
    seconds = settings.MESSAGING_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.MESSAGING_RETRY_MAX_SECONDS))
