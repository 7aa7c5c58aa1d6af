"""Attachments: files on a message, stored encrypted, streamed in and out, purged on the owner's terms.

- Limits: ``MESSAGING_ATTACHMENT_MAX_MB`` per file and ``MESSAGING_ATTACHMENTS_MAX_MB`` per
  message, counted on the bytes actually read (a client's declared size is only an early
  "no"), and checked again under the message's row lock when the row is written, so two
  uploads at once cannot pass the total together.
- Only a message still on its ladder takes or loses files, like its text.
- The content type is sniffed from the first bytes (``filetype``: magic numbers, pure Python,
  no libmagic needed), never taken from the client; a type a browser would run (HTML, SVG,
  XML) is stored as ``application/octet-stream``. Every download is
  ``Content-Disposition: attachment`` with ``X-Content-Type-Options: nosniff`` and a
  sandboxing CSP, so nothing is ever shown inline as a page of this site.
- The stored object is deleted after the row's transaction commits (a rollback keeps both),
  whether the row goes by itself, with its message, or by ``attachments_purge`` (the owner's
  "N days after delivery").
- Each add and each removal (the owner's, or the purge's) writes one audit event in the row's
  transaction, with the size and sniffed type: never the file's name (encrypted at rest, and a
  name says much) nor its key.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import BinaryIO

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from cradle_site.audit_vocabulary import ActorKind, AuditActor, EventType
from cradle_site.errors import StateError
from cradle_site.text import one_line
from messaging import attachment_storage
from messaging.attachment_crypto import EncryptingReader, decrypt_chunks, key_from_text, key_to_text, new_file_key
from messaging.models import Attachment, Message
from messaging.sealed import NAME_MAX_BYTES, envelope_check, file_header_check, file_not_sealed_error
from ops.audit import audit_record

log = logging.getLogger(__name__)

MB = 1024 * 1024
NAME_MAX_LENGTH = 200
SNIFF_BYTES = 8192
# Types a browser renders as a page (and so could run script as this site): never stored as such.
NEVER_INLINE = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"}
OCTET_STREAM = "application/octet-stream"
PURGE = AuditActor(ActorKind.JOB, label="purge_attachments")  # the audit log's actor of attachments_purge


def max_file_bytes() -> int:
    return settings.MESSAGING_ATTACHMENT_MAX_MB * MB


def max_total_bytes() -> int:
    return settings.MESSAGING_ATTACHMENTS_MAX_MB * MB


def clean_name(name: str) -> str:
    """The file's own name, without any folder a browser sent, on one line and not too long."""
    name = one_line(PurePath((name or "").replace("\\", "/")).name).strip()
    return name[-NAME_MAX_LENGTH:] or _("attachment")


def sniff(head: bytes) -> str:
    kind = filetype.guess(head)
    mime = kind.mime if kind is not None else OCTET_STREAM
    return OCTET_STREAM if mime in NEVER_INLINE else mime


class _Prefixed:
    """``head`` followed by the rest of ``source``: the sniffed bytes are not read twice."""

    def __init__(self, head: bytes, source: BinaryIO) -> None:
        self._head, self._source = head, source

    def read(self, size: int) -> bytes:
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._source.read(size)


def _used_bytes(message_id: int) -> int:
    return Attachment.objects.filter(message_id=message_id).aggregate(total=Sum("size"))["total"] or 0


def _count(message_id: int) -> int:
    return Attachment.objects.filter(message_id=message_id).count()


def _too_large_error(limit: int) -> ValidationError:
    return ValidationError(
        {
            "file": _("The file is too large: each file may have up to %(each)s MB, a message %(total)s MB in all.")
            % {"each": settings.MESSAGING_ATTACHMENT_MAX_MB, "total": settings.MESSAGING_ATTACHMENTS_MAX_MB}
        },
        code="too_large",
    )


def attachment_add(
    *,
    message: Message,
    stream: BinaryIO,
    name: str,
    size: int | None = None,
    sealed_name: str = "",
    now: datetime | None = None,
) -> Attachment:
    """Encrypt ``stream`` into the storage and attach it to ``message``; ``ValidationError`` on ``file``.

    ``size`` is what the client declared (an upload's size), if known: a file declared too
    large is refused before a byte is stored. A sealed message takes only sealed files: the
    browser's ciphertext (``messaging.sealed``) with its name as the envelope ``sealed_name``;
    a plain file (a page without JavaScript) is refused, never stored as it came.
    """
    if message.state != Message.State.ACTIVE:
        raise StateError(_("Only a message that has not been delivered or revoked can be changed."))
    if message.sealed:
        sealed_name = envelope_check(sealed_name or "", max_plain_bytes=NAME_MAX_BYTES) or ""
        if not sealed_name:
            raise file_not_sealed_error()
    elif sealed_name:
        raise ValidationError({"sealed_name": _("This message is not sealed: send the file as it is.")})
    room = min(max_file_bytes(), max_total_bytes() - _used_bytes(message.pk))
    if room < 0 or (size is not None and size > room):
        raise _too_large_error(room)
    head = stream.read(SNIFF_BYTES)
    if message.sealed and not file_header_check(head):
        raise file_not_sealed_error()
    key = new_file_key()
    wanted = f"{message.pk}/{uuid.uuid4().hex}.bin"  # random: a name on the disk or bucket tells nothing
    try:
        reader = EncryptingReader(_Prefixed(head, stream), key, max_bytes=room)
        stored = attachment_storage.save_stream(wanted, reader)
    except EncryptingReader.TooLarge:
        # A local file keeps what was written before the limit (boto3 aborts its upload itself).
        attachment_storage.delete(wanted)
        raise _too_large_error(room) from None
    try:
        with transaction.atomic():
            # The message row first, as every writer of a message's rows takes them: two uploads
            # at once queue here, and the second counts the first.
            locked = Message.objects.select_for_update().get(pk=message.pk)
            if locked.state != Message.State.ACTIVE:
                raise StateError(_("Only a message that has not been delivered or revoked can be changed."))
            if _used_bytes(locked.pk) + reader.plaintext_size > max_total_bytes():
                raise _too_large_error(room)
            if locked.sealed != message.sealed:  # sealed or unsealed meanwhile (another tab)
                raise StateError(_("The message changed meanwhile: reload the page and attach the file again."))
            attachment = Attachment.objects.create(
                message=locked,
                # A sealed file's name says nothing; the real one is in the envelope.
                name=f"attachment-{_count(locked.pk) + 1}.sealed" if sealed_name else clean_name(name),
                sealed_name=sealed_name,
                size=reader.plaintext_size,
                content_type=OCTET_STREAM if sealed_name else sniff(head),
                storage_name=stored,
                wrapped_key=key_to_text(key),
                created_at=now or timezone.now(),
            )
            _record(EventType.ATTACHMENT_ADDED, attachment, owner_id=locked.owner_id)
            return attachment
    except BaseException:
        attachment_storage.delete(stored)  # no row points at it: it must not stay behind
        raise


def attachment_delete(*, attachment: Attachment) -> None:
    """Remove a file from a message still on its ladder (the bytes go once the row has)."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=attachment.message_id)
        if locked.state != Message.State.ACTIVE:
            raise StateError(_("Only a message that has not been delivered or revoked can be changed."))
        pk = attachment.pk
        if attachment.delete()[0]:  # gone meanwhile (another tab): that removal wrote the event
            _record(EventType.ATTACHMENT_REMOVED, attachment, pk=pk, owner_id=locked.owner_id)


def _record(event_type: str, attachment: Attachment, *, owner_id: int, pk: int | None = None, actor=None, **data):
    """One audit event about ``attachment`` (``pk``: its id, once a delete has cleared it).

    Its message, size and sniffed type: never the name or the key (ops.audit names, it does not copy).
    """
    audit_record(
        event_type,
        user=owner_id,
        obj=(Attachment, pk or attachment.pk),
        actor=actor,
        data={"message_id": attachment.message_id, "bytes": attachment.size, "mime": attachment.content_type, **data},
    )


@receiver(post_delete, sender=Attachment)
def _delete_stored_bytes(sender, instance: Attachment, **kwargs) -> None:
    """However the row goes (alone, with its message, by the purge), its bytes go after the commit."""
    name = instance.storage_name

    def delete() -> None:
        try:
            attachment_storage.delete(name)
        except Exception:  # the row is gone either way; an orphaned object is logged, not raised
            log.exception("could not delete the stored attachment %s", name)

    transaction.on_commit(delete)


def attachment_chunks(attachment: Attachment) -> Iterator[bytes]:
    """The file's plaintext, a chunk at a time, decrypted as it is read from the storage."""
    stream = attachment_storage.open_stream(attachment.storage_name)
    try:
        yield from decrypt_chunks(stream, key_from_text(attachment.wrapped_key))
    finally:
        stream.close()


def attachment_response(attachment: Attachment) -> StreamingHttpResponse:
    """The download: streamed, always saved as a file, never rendered by the browser."""
    response = StreamingHttpResponse(attachment_chunks(attachment), content_type=attachment.content_type)
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    # The site's policy (django-csp's middleware) plus ``sandbox``: were a browser ever to show the
    # file, it would be a page of no origin that runs no script and submits no form.
    response._csp_update = {"sandbox": True}
    response["Cache-Control"] = "private, no-store"
    return response


def attachments_purge(*, now: datetime | None = None, limit: int = 500) -> int:
    """Delete the attachments of delivered messages past their owner's "N days after delivery"; return how many.

    Safe to run twice at once: a row another run deleted first is simply not there to delete.
    """
    now = now or timezone.now()
    candidates = (
        Message.objects.filter(
            state=Message.State.DELIVERED, attachments_keep_days__isnull=False, attachments__isnull=False
        )
        .values_list("id", "delivered_at", "attachments_keep_days")
        .distinct()
        .order_by("id")[:limit]
    )
    due = {
        pk: days for pk, delivered_at, days in candidates if delivered_at and delivered_at + timedelta(days=days) <= now
    }
    removed = 0
    rows = Attachment.objects.filter(message_id__in=due).select_related("message").order_by("id")
    for attachment in rows.only("id", "storage_name", "size", "content_type", "message_id", "message__owner_id"):
        with transaction.atomic():
            pk = attachment.pk
            deleted = attachment.delete()[0]
            if deleted:  # another run may have deleted it first: then it is that run's event
                _record(
                    EventType.ATTACHMENT_REMOVED,
                    attachment,
                    pk=pk,
                    owner_id=attachment.message.owner_id,
                    actor=PURGE,
                    days_after_delivery=due[attachment.message_id],
                )
            removed += deleted
    return removed
