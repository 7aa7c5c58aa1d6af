"""``GET /api/v1/audit``: the caller's own audit events, newest first, by cursor (scope ``audit:read``)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination

from ops.audit import audit_events_of
from ops.audit_models import AuditEvent


class AuditEventOutput(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "created_at",
            "event_type",
            "actor_kind",
            "actor_label",
            "object_type",
            "object_id",
            "object_label",
            "ip",
            "user_agent",
            "extra_data",
        )


class AuditCursor(CursorPagination):
    # Keyset on (created_at, id): the last page costs what the first does (audit_user_created_idx).
    ordering = ("-created_at", "-id")
    page_size = 50


class AuditEventListView(ListAPIView):
    serializer_class = AuditEventOutput
    pagination_class = AuditCursor
    required_scopes = {"GET": {"audit:read"}}

    def get_queryset(self):
        queryset = audit_events_of(self.request.user)
        event_type = self.request.query_params.get("event_type")
        if event_type:
            if event_type not in AuditEvent.EventType.values:
                raise serializers.ValidationError({"event_type": [f"unknown event type {event_type[:40]!r}"]})
            queryset = queryset.filter(event_type=event_type)
        return queryset
