"""Messages API: CRUD with nested recipients, reset / continue / revoke, status logs.

Scopes: ``messages:read`` for GET, ``messages:write`` for the rest. Every queryset goes
through ``owned_by(request.user)``, so another user's message is a 404. The revocation
key is in the create response only; webhook recipients' signing secrets are never in a
GET, only in the answer to ``POST .../webhook-secrets/`` (a write scope, as on the page).

A request does bounded work: at most ``services.RECIPIENTS_MAX`` recipients, refused before
any of them is looked at, and a webhook URL is checked by its text only (no DNS lookup in
the request; the address is checked when the delivery connects). The services' ValidationError and StateError reach the
client through the site's exception handler (cradle_site.api): no view converts them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cradle_site.api import CursorPagination
from messaging import history, ladder, named, ping, services
from messaging.channels import validate_contact
from messaging.models import Message, NamedStatus, Recipient, StatusLog


class RecipientSerializer(serializers.ModelSerializer):
    # "You are named" (messaging.named): asked for per recipient, and where it stands.
    named_status = serializers.ChoiceField(choices=NamedStatus.choices, read_only=True)

    class Meta:
        model = Recipient
        fields = [
            "id",
            "name",
            "contact",
            "contact_type",
            "tell_named",
            "named_status",
            "named_notice_sent_at",
            "named_confirmed_at",
            "named_failed_at",
            "named_failed_reason",
        ]
        read_only_fields = [
            "id",
            "named_notice_sent_at",
            "named_confirmed_at",
            "named_failed_at",
            "named_failed_reason",
        ]

    def validate(self, attrs):
        # A PATCH makes nested fields optional too, but recipients replace the whole list,
        # so each one still needs its name and contact.
        missing = {name: [_("This field is required.")] for name in ("name", "contact") if name not in attrs}
        if missing:
            raise ValidationError(missing)
        try:
            attrs["contact"] = validate_contact(
                attrs.get("contact_type", Recipient.ContactType.EMAIL), attrs["contact"]
            )
        except DjangoValidationError as exc:
            raise ValidationError({"contact": exc.messages}) from None
        if attrs.get("tell_named") and not named.named_allowed(attrs.get("contact_type", Recipient.ContactType.EMAIL)):
            raise ValidationError({"tell_named": [named.named_refused_text()]})
        return attrs


class StepSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    at = serializers.DateTimeField()
    is_delivery = serializers.BooleanField()


class MessageSerializer(serializers.ModelSerializer):
    content = serializers.CharField(trim_whitespace=False)
    recipients = RecipientSerializer(many=True, allow_empty=False)
    schedule = serializers.SerializerMethodField()
    ladder = serializers.ChoiceField(
        source="ladder_choice",
        choices=[name for name, _label in ladder.choices()],
        required=False,
        help_text="seed (the initial delay, then 30, 30, 7, 1, 1 days), a preset, or custom (give ladder_steps).",
    )
    ladder_steps = serializers.ListField(
        source="ladder_steps_seconds",
        child=serializers.IntegerField(),
        required=False,
        allow_empty=False,
        help_text="Seconds: before the first warning, then after each warning (the last: until delivery). "
        "Read: the message's ladder; write: with ladder=custom, 2 to 6 numbers, each at least 3600.",
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "title",
            "content",
            "initial_delay_months",
            "activity_resets",
            "ladder",
            "ladder_steps",
            "contacts_from_level",
            "paused_until",
            "include_text_in_notice",
            "attachments_keep_days",
            "sealed",
            "seal_hint",
            "state",
            "is_active",
            "warning_level",
            "next_warning_date",
            "last_warning_at",
            "created_at",
            "revoked_at",
            "delivered_at",
            "recipients",
            "schedule",
        ]
        read_only_fields = [
            "paused_until",
            "state",
            "is_active",
            "warning_level",
            "next_warning_date",
            "last_warning_at",
            "created_at",
            "revoked_at",
            "delivered_at",
        ]
        extra_kwargs = {
            "title": {"required": False, "allow_blank": True, "max_length": services.TITLE_MAX_LENGTH},
            "contacts_from_level": {
                "help_text": "From this warning level on, every verified contact of yours is warned "
                "(null: each contact's own level; the account e-mail gets every warning)."
            },
            "attachments_keep_days": {"min_value": 1, "max_value": services.KEEP_DAYS_MAX},
            "sealed": {
                "help_text": "Sealed (messaging/sealed.py): content is the envelope your client encrypted with a "
                "passphrase Cradle never receives, and seal_hint (required) is delivered in clear. Anything that "
                "is not a well-formed envelope is refused (400 on content)."
            },
            "seal_hint": {"required": False, "allow_blank": True},
            "initial_delay_months": {
                "min_value": services.DELAY_MIN_MONTHS,
                "max_value": settings.MESSAGING_MAX_DELAY_MONTHS,
            },
        }

    @extend_schema(responses=StepSerializer(many=True))
    def get_schedule(self, obj: Message) -> list[dict]:
        if obj.state != Message.State.ACTIVE:
            return []
        steps = ladder.schedule_from(
            level=obj.warning_level, next_at=obj.next_warning_date, ladder=ladder.ladder_of(obj)
        )
        return [{"step": s.step, "at": s.at, "is_delivery": s.is_delivery} for s in steps]

    def to_internal_value(self, data):
        # Before any recipient is validated: a request naming thousands costs one len().
        recipients = data.get("recipients") if hasattr(data, "get") else None
        if isinstance(recipients, list) and len(recipients) > services.RECIPIENTS_MAX:
            raise ValidationError(
                {"recipients": [_("At most %(n)d recipients.") % {"n": services.RECIPIENTS_MAX}]}, code="max_length"
            )
        return super().to_internal_value(data)

    def validate_recipients(self, value):
        if not value:
            raise ValidationError("Name at least one recipient.")
        return value


class MessageCreatedSerializer(MessageSerializer):
    revocation_key = serializers.CharField(read_only=True, help_text="Shown once; store it safely.")

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "revocation_key"]


class WebhookSecretSerializer(serializers.Serializer):
    recipient_id = serializers.IntegerField()
    name = serializers.CharField()
    webhook_secret = serializers.CharField(help_text="Hand it to the recipient: it verifies each delivery with it.")


class StatusLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatusLog
        fields = ["id", "status", "created_at", "details", "data", "response"]
        read_only_fields = fields


class MessageViewSet(viewsets.ModelViewSet):
    scope_area = "messages"
    serializer_class = MessageSerializer
    pagination_class = CursorPagination

    def get_queryset(self):
        messages = Message.objects.owned_by(self.request.user).order_by("-created_at", "-id")
        if self.action == "list":
            # The page's bodies in one query over its ids: a JOIN would let the database read
            # (and sort) the bodies of every skipped row too.
            return messages.defer("revocation_key_hash").prefetch_related("body", "recipients")
        return messages.select_related("body").prefetch_related("recipients")

    @extend_schema(responses={201: MessageCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        message, key = services.message_create(
            owner=request.user,
            title=data.get("title", ""),
            content=data["content"],
            initial_delay_months=data["initial_delay_months"],
            recipients=[dict(r) for r in data["recipients"]],
            activity_resets=data.get("activity_resets", False),
            ladder_name=data.get("ladder_choice", ladder.SEED),
            ladder_steps=data.get("ladder_steps_seconds"),
            contacts_from_level=data.get("contacts_from_level"),
            include_text_in_notice=data.get("include_text_in_notice", False),
            attachments_keep_days=data.get("attachments_keep_days"),
            sealed=data.get("sealed", False),
            seal_hint=data.get("seal_hint", ""),
        )
        message.revocation_key = key
        return Response(MessageCreatedSerializer(message).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        message = self.get_object()
        serializer = self.get_serializer(message, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        recipients = [dict(r) for r in data["recipients"]] if "recipients" in data else None
        services.message_update(
            message=message,
            title=data.get("title", message.title),
            content=data.get("content", message.content),
            initial_delay_months=data.get("initial_delay_months", message.initial_delay_months),
            recipients=recipients,
            activity_resets=data.get("activity_resets"),
            ladder_name=data.get("ladder_choice", ladder.CUSTOM if "ladder_steps_seconds" in data else None),
            ladder_steps=data.get("ladder_steps_seconds"),
            contacts_from_level=data.get("contacts_from_level", services.KEEP),
            include_text_in_notice=data.get("include_text_in_notice"),
            attachments_keep_days=data.get("attachments_keep_days", services.KEEP),
            sealed=data.get("sealed"),
            seal_hint=data.get("seal_hint"),
        )
        return Response(MessageSerializer(self.get_queryset().get(pk=message.pk)).data)

    def perform_destroy(self, instance):
        services.message_delete(message=instance)

    def _answer(self, request, func):
        message = self.get_object()
        func(message=message)
        return Response(MessageSerializer(self.get_queryset().get(pk=message.pk)).data)

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"])
    def reset(self, request, pk=None):
        """RESET: you are fine; back to level 0, next warning after the initial delay."""
        return self._answer(request, services.message_reset)

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"], url_path="continue", url_name="continue")
    def continue_(self, request, pk=None):
        """CONTINUE: acknowledged; the ladder goes on."""
        return self._answer(request, services.message_continue)

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """REVOKE: never deliver this message."""
        return self._answer(request, services.message_revoke)

    @extend_schema(request=None, responses=inline_serializer("ResetAll", {"reset": serializers.IntegerField()}))
    @action(detail=False, methods=["post"], url_path="reset-all", url_name="reset-all")
    def reset_all(self, request):
        """ "I'm still here": RESET every one of your messages still on its ladder; returns how many."""
        request.data  # noqa: B018 - parsed first, so a malformed body is a 400 and resets nothing
        return Response({"reset": services.messages_reset_all(owner=request.user)})

    @extend_schema(request=None, responses=WebhookSecretSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="webhook-secrets", url_name="webhook-secrets")
    def webhook_secrets(self, request, pk=None):
        """The signing secret of each webhook recipient (Standard Webhooks, ``whsec_…``): a POST, never cached."""
        message = self.get_object()
        rows = message.recipients.filter(contact_type=Recipient.ContactType.WEBHOOK).order_by("id")
        data = [{"recipient_id": r.pk, "name": r.name, "webhook_secret": r.webhook_secret} for r in rows]
        return Response(WebhookSecretSerializer(data, many=True).data, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses=RecipientSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"recipients/(?P<recipient_id>[0-9]{1,18})/tell-named",
        url_name="tell-named",
    )
    def tell_named(self, request, pk=None, recipient_id=None):
        """Ask this e-mail recipient (again) to confirm their address: "you are named" (at most once an hour)."""
        message = self.get_object()
        recipient = message.recipients.filter(pk=recipient_id).first()
        if recipient is None:
            raise NotFound(_("This message has no recipient with this number."))
        named.named_notice_resend(recipient=recipient)
        recipient.refresh_from_db()
        return Response(RecipientSerializer(recipient).data)

    @extend_schema(responses=StatusLogSerializer(many=True))
    @action(detail=True, methods=["get"])
    def logs(self, request, pk=None):
        message = self.get_object()
        page = self.paginate_queryset(message.status_logs.order_by("created_at", "id"))
        return self.get_paginated_response(StatusLogSerializer(page, many=True).data)


class CheckinView(APIView):
    """ "I'm still here" for scripts: reset every waiting message, or the one named; returns how many.

    Scope ``messages:checkin`` (``messages:write`` includes it): a key that can check in and
    do nothing else, for a phone shortcut. The same rule as the personal check-in URL
    (``messaging.ping.checkin_reset``); the history names the owner, as for any API answer.
    """

    required_scopes = {"POST": {"messages:checkin"}}

    class InputSerializer(serializers.Serializer):
        message = serializers.IntegerField(required=False, min_value=1, help_text="One message's id; all when absent.")

    @extend_schema(
        request=InputSerializer, responses=inline_serializer("Checkin", {"reset": serializers.IntegerField()})
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            count = ping.checkin_reset(
                owner=request.user, message_id=serializer.validated_data.get("message"), actor=history.OWNER
            )
        except ping.NoSuchMessage:
            raise NotFound(_("You have no message with this number.")) from None
        return Response({"reset": count})
