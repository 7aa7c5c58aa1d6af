"""Pauses API ("away until ..."): list, start (every message or one), end early.

Scopes as the messages: ``messages:read`` for GET, ``messages:write`` to start or end one.
Every queryset goes through ``owned_by(request.user)``: another owner's pause or message is
a 404. The rules (the 90-day limit, what a pause holds) are ``messaging.pauses``'.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cradle_site.api import CursorPagination
from messaging import pauses
from messaging.models import Message, Pause


class PauseSerializer(serializers.ModelSerializer):
    message = serializers.IntegerField(
        source="message_id", required=False, allow_null=True, help_text="One message's id; all when absent."
    )
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = Pause
        fields = ["id", "message", "until", "created_at", "ended_at", "in_force"]
        read_only_fields = ["id", "created_at", "ended_at", "in_force"]

    def get_in_force(self, obj: Pause) -> bool:
        from django.utils import timezone

        return obj.ended_at is None and obj.until > timezone.now()


class PauseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    scope_area = "messages"
    serializer_class = PauseSerializer
    pagination_class = CursorPagination

    def get_queryset(self):
        return Pause.objects.owned_by(self.request.user).order_by("-created_at", "-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = None
        message_id = serializer.validated_data.get("message_id")
        if message_id is not None:
            message = Message.objects.owned_by(request.user).filter(pk=message_id).first()
            if message is None:
                raise ValidationError({"message": [_("You have no message with this number.")]})
        pause = pauses.pause_start(owner=request.user, until=serializer.validated_data["until"], message=message)
        return Response(PauseSerializer(pause).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=PauseSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """End this pause now: its messages go on with the full interval from now."""
        pause = pauses.pause_end(pause=self.get_object())
        return Response(PauseSerializer(pause).data)
