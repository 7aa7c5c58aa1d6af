"""The owner's attachments on their message's page: upload, download, remove (``messaging.attachments``).

Every view finds the message through ``get_owned_or_404`` and the file among that message's
own: another user's message or file is a 404, whatever its id. An upload arrives through
Django's upload handlers (past ``FILE_UPLOAD_MAX_MEMORY_SIZE`` a temporary file, never memory)
and is encrypted as it is copied into the storage.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cradle_site.errors import Busy, StateError
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from messaging import attachments
from messaging.forms import AttachmentForm
from messaging.models import Message
from messaging.views import BUSY_TEXT


@login_required
@writer_required
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        flash.error(request, _("Choose a file to attach."))
        return redirect("messaging:message_detail", pk=pk)
    upload = form.cleaned_data["file"]
    try:
        attachments.attachment_add(
            message=message,
            stream=upload,
            name=upload.name,
            size=upload.size,
            sealed_name=request.POST.get("sealed_name", ""),
        )
    except ValidationError as exc:
        flash.error(request, " ".join(exc.message_dict.get("file", exc.messages)))
    except StateError as exc:
        flash.error(request, str(exc))
    except Busy:
        flash.error(request, BUSY_TEXT)
    else:
        flash.success(request, _("The file is attached."))
    return redirect("messaging:message_detail", pk=pk)


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    return attachments.attachment_response(get_object_or_404(message.attachments, pk=attachment_id))


@login_required
@writer_required
@require_POST
def attachment_remove(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    attachment = get_object_or_404(message.attachments, pk=attachment_id)
    try:
        attachments.attachment_delete(attachment=attachment)
    except StateError as exc:
        flash.error(request, str(exc))
    except Busy:
        flash.error(request, BUSY_TEXT)
    else:
        flash.success(request, _("The file was removed."))
    return redirect("messaging:message_detail", pk=pk)
