"""``/api/v1/owner-contacts``: the owner's warning contacts (scopes ``messages:read`` / ``messages:write``).

List, add (a code is sent; Telegram answers with its deep link), read, change the label and
the first level, remove, ``POST …/<id>/verify`` with ``{"code"}``, ``POST …/<id>/resend``, and
``POST …/test-warning`` (every verified contact, marked as a test; nothing changes). The
queryset is ``owned_by(request.user)``: another owner's contact is a 404. The services'
errors reach the client through the site's handler (400 with the field and the reason).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.response import Response

from cradle_site.api import CursorPagination
from messaging import owner_contacts, owner_notify
from messaging.channels import ChannelError
from messaging.owner_contact_models import OwnerContact


class OwnerContactSerializer(serializers.ModelSerializer):
    is_verified = serializers.BooleanField(read_only=True)
    is_failing = serializers.SerializerMethodField()

    class Meta:
        model = OwnerContact
        fields = [
            "id",
            "kind",
            "address",
            "label",
            "first_level",
            "is_verified",
            "verified_at",
            "is_failing",
            "created_at",
        ]
        read_only_fields = ["verified_at", "created_at"]
        extra_kwargs = {"address": {"required": False, "allow_blank": True}, "label": {"required": False}}

    def get_is_failing(self, obj: OwnerContact) -> bool:
        return obj.failing_since is not None


class OwnerContactCreatedSerializer(OwnerContactSerializer):
    telegram_link = serializers.CharField(read_only=True, help_text="Telegram only: open it and press Start.")

    class Meta(OwnerContactSerializer.Meta):
        fields = [*OwnerContactSerializer.Meta.fields, "telegram_link"]


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12)


def _throttled(exc: owner_contacts.TooManyAttempts) -> Throttled:
    return Throttled(wait=exc.retry_after, detail=str(exc))


class OwnerContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    scope_area = "messages"
    serializer_class = OwnerContactSerializer
    pagination_class = CursorPagination

    def get_queryset(self):
        return OwnerContact.objects.owned_by(self.request.user).order_by("-created_at", "-id")

    @extend_schema(responses={201: OwnerContactCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact, link = owner_contacts.contact_add(
            owner=request.user,
            kind=data["kind"],
            address=data.get("address", ""),
            label=data.get("label", ""),
            first_level=data.get("first_level", 3),
        )
        contact.telegram_link = link
        return Response(OwnerContactCreatedSerializer(contact).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        contact = self.get_object()
        if not hasattr(request.data, "keys"):
            raise ValidationError({"label": ["Send an object with label and/or first_level."]})
        unknown = set(request.data) - {"label", "first_level"}
        if unknown & {"kind", "address"}:
            raise ValidationError({"address": ["Remove the contact and add the new address instead."]})
        owner_contacts.contact_update(
            contact=contact, label=request.data.get("label"), first_level=request.data.get("first_level")
        )
        return Response(OwnerContactSerializer(contact).data)

    def perform_destroy(self, instance):
        owner_contacts.contact_remove(contact=instance)

    @extend_schema(request=CodeSerializer, responses=OwnerContactSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """Verify the contact with the code sent to it."""
        contact = self.get_object()
        serializer = CodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            owner_contacts.contact_verify(contact=contact, code=serializer.validated_data["code"])
        except owner_contacts.TooManyAttempts as exc:
            raise _throttled(exc) from None
        return Response(OwnerContactSerializer(contact).data)

    @extend_schema(request=None, responses=OwnerContactCreatedSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        """A new code (or, for Telegram, a new deep link) for a contact not verified yet."""
        contact = self.get_object()
        link = ""
        try:
            if contact.kind == OwnerContact.Kind.TELEGRAM and not contact.is_verified:
                link = owner_contacts.telegram_token_new(contact)
            else:
                owner_contacts.contact_send_code(contact=contact)
        except owner_contacts.TooManyAttempts as exc:
            raise _throttled(exc) from None
        except ChannelError:
            raise ValidationError({"address": ["The code could not be sent to this contact."]}) from None
        contact.telegram_link = link
        return Response(OwnerContactCreatedSerializer(contact).data)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "TestWarning", {"contacts": serializers.IntegerField(), "accepted": serializers.IntegerField()}
        ),
    )
    @action(detail=False, methods=["post"], url_path="test-warning", url_name="test-warning")
    def test_warning(self, request):
        """Send a test warning to every verified contact; nothing changes on any message."""
        try:
            return Response(owner_notify.warning_test_send(owner=request.user))
        except owner_contacts.TooManyAttempts as exc:
            raise _throttled(exc) from None
