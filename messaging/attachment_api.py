"""Attachments over the API: list, upload (multipart ``file``), remove. Scopes as the messages'.

The message is found through ``owned_by(request.user)`` and the file among that message's own,
so another user's is a 404. There is no download here: the files go out on the recipients'
delivery pages, and to the owner on their own message page (a browser session, not a key).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging import attachments
from messaging.models import Attachment, Message


class AttachmentSerializer(serializers.ModelSerializer):
    sealed = serializers.BooleanField(source="is_sealed", read_only=True)

    class Meta:
        model = Attachment
        fields = ["id", "name", "sealed", "size", "content_type", "created_at"]
        read_only_fields = fields


def _message(request, pk: int) -> Message:
    message = Message.objects.owned_by(request.user).filter(pk=pk).first()
    if message is None:
        raise NotFound(_("You have no message with this number."))
    return message


class AttachmentListView(APIView):
    """GET: the message's files (name, size, sniffed type). POST: attach one (multipart, field ``file``)."""

    scope_area = "messages"
    parser_classes = [MultiPartParser]

    @extend_schema(responses=AttachmentSerializer(many=True))
    def get(self, request, pk: int):
        rows = _message(request, pk).attachments.all()
        return Response(AttachmentSerializer(rows, many=True).data)

    @extend_schema(
        request=inline_serializer(
            "AttachmentUpload",
            {
                "file": serializers.FileField(),
                "sealed_name": serializers.CharField(
                    required=False,
                    help_text="A sealed message's files only: the file's name as an envelope; the file is "
                    "then the sealed ciphertext (see messaging/sealed.py).",
                ),
            },
        ),
        responses={201: AttachmentSerializer},
    )
    def post(self, request, pk: int):
        message = _message(request, pk)
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": [_("Send the file as the multipart field “file”.")]})
        sealed_name = request.data.get("sealed_name", "")
        attachment = attachments.attachment_add(
            message=message,
            stream=upload,
            name=upload.name,
            size=upload.size,
            sealed_name=sealed_name if isinstance(sealed_name, str) else "",
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDetailView(APIView):
    """DELETE: remove a file from a message still on its ladder."""

    scope_area = "messages"

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int, attachment_id: int):
        attachment = get_object_or_404(_message(request, pk).attachments, pk=attachment_id)
        attachments.attachment_delete(attachment=attachment)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=AttachmentSerializer)
    def get(self, request, pk: int, attachment_id: int):
        attachment = get_object_or_404(_message(request, pk).attachments, pk=attachment_id)
        return Response(AttachmentSerializer(attachment).data)
