"""``/api/v1/trusted-contacts``, ``/api/v1/access-requests`` and ``/api/v1/messages/<id>/trusted-access``.

Scopes ``messages:read`` / ``messages:write``. Trusted contacts: list, add (their invitation
e-mail is sent), read, remove. Access requests: list, read, ``POST …/<id>/refuse``. A message's
trusted access: GET and PUT ``{"mode": "off" | "recipients" | "contact"}``. Every queryset is
``owned_by(request.user)``: another owner's contact, request or message is a 404. The rules are
``messaging.trusted``'s; their errors reach the client through the site's handler (400 with
the field and the reason).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from cradle_site.api import CursorPagination
from messaging import trusted
from messaging.models import AccessRequest, Message, TrustedAccess, TrustedContact
from messaging.trusted_models import WAIT_DAYS_MAX, WAIT_DAYS_MIN


class TrustedContactSerializer(serializers.ModelSerializer):
    is_verified = serializers.BooleanField(read_only=True)
    wait_days = serializers.IntegerField(min_value=WAIT_DAYS_MIN, max_value=WAIT_DAYS_MAX)

    class Meta:
        model = TrustedContact
        fields = ["id", "name", "email", "wait_days", "is_verified", "verified_at", "paused_at", "created_at"]
        read_only_fields = ["verified_at", "paused_at", "created_at"]


class AccessRequestSerializer(serializers.ModelSerializer):
    contact_name = serializers.CharField(source="contact.name", read_only=True)

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "contact",
            "contact_name",
            "state",
            "requested_at",
            "grant_at",
            "decided_at",
            "messages_granted",
        ]
        read_only_fields = fields


class TrustedContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    scope_area = "messages"
    serializer_class = TrustedContactSerializer
    pagination_class = CursorPagination

    def get_queryset(self):
        return TrustedContact.objects.owned_by(self.request.user).order_by("-created_at", "-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = trusted.trusted_contact_add(owner=request.user, **serializer.validated_data)
        return Response(TrustedContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        trusted.trusted_contact_remove(contact=instance)


class AccessRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope_area = "messages"
    serializer_class = AccessRequestSerializer
    pagination_class = CursorPagination
    ordering = "-requested_at"

    def get_queryset(self):
        return (
            AccessRequest.objects.owned_by(self.request.user).select_related("contact").order_by("-requested_at", "-id")
        )

    @extend_schema(request=None, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        """Refuse a pending request: it is never granted (400 when it was decided already)."""
        access = trusted.access_refuse(request=self.get_object())
        return Response(AccessRequestSerializer(access).data)


class TrustedAccessSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=TrustedAccess.Mode.choices)


class TrustedAccessView(APIView):
    """GET: what a granted request does for this message. PUT ``{"mode"}``: change it."""

    scope_area = "messages"

    def _message(self, request, pk: int) -> Message:
        message = Message.objects.owned_by(request.user).filter(pk=pk).first()
        if message is None:
            raise NotFound(_("You have no message with this number."))
        return message

    @extend_schema(responses=TrustedAccessSerializer)
    def get(self, request, pk: int):
        return Response({"mode": trusted.mode_of(self._message(request, pk))})

    @extend_schema(request=TrustedAccessSerializer, responses=TrustedAccessSerializer)
    def put(self, request, pk: int):
        message = self._message(request, pk)
        serializer = TrustedAccessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access = trusted.trusted_access_set(message=message, mode=serializer.validated_data["mode"])
        return Response({"mode": access.mode})
