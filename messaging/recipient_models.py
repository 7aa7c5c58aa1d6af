"""What the recipients' side stores: the links to each recipient's delivery page, and attachments.

- ``DeliveryLink``: one row per link sent to a recipient (the first notice, each renewal by the
  recipient, each re-send by staff). The token is 256 random bits and the table keeps only its
  keyed hash (``token_hash``, ``cradle_site.crypto.lookup_hash``), found by a unique index.
  Until the notice carrying it has gone out the token is also kept Fernet-encrypted
  (``pending_token``): a retry of the same delivery (a relay outage, a worker that died after
  the send) must carry the same link, because the receiver may keep the first copy and drop the
  second by its id. The column is emptied in the transaction that records the send. Only the
  newest link of a delivery opens the page; an older one (``replaced_at``) or an expired one
  explains how to ask for a new link, which goes to the recipient's own address.
- ``Attachment``: a file on a message, encrypted at rest in chunks with a key of its own
  (``messaging.attachment_crypto``), the key wrapped by the site's Fernet keys. The bytes live
  in the ``attachments`` storage (``messaging.attachment_storage``); the row holds the name
  (encrypted: a file name says much), the plaintext size and the sniffed content type.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site.fields import EncryptedTextField
from cradle_site.querysets import OwnedQuerySet


class DeliveryLink(models.Model):
    class Reason(models.TextChoices):
        DELIVERED = "delivered", _("delivered")
        RENEWED = "renewed", _("renewed by the recipient")
        RESENT = "resent", _("re-sent by staff")

    delivery = models.ForeignKey(
        "messaging.Delivery", on_delete=models.CASCADE, related_name="links", verbose_name=_("delivery")
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    pending_token = EncryptedTextField(_("token until sent"), blank=True, default="", editable=False)
    # The id the notice carries (Message-ID, webhook-id): the delivery's own uid for the first
    # notice, as before links existed, a new one for each renewal and re-send.
    notice_id = models.UUIDField(_("notice id"), default=uuid.uuid4, editable=False)
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices, default=Reason.DELIVERED)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    first_opened_at = models.DateTimeField(_("first opened"), null=True, blank=True, editable=False)
    replaced_at = models.DateTimeField(_("replaced"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("delivery link")
        verbose_name_plural = _("delivery links")

    def __str__(self) -> str:
        return f"Link #{self.pk} (delivery {self.delivery_id})"


class AttachmentQuerySet(OwnedQuerySet):
    owner_path = "message__owner"


class Attachment(models.Model):
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    name = EncryptedTextField(_("file name"))
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("content type"), max_length=100, default="application/octet-stream")
    storage_name = models.CharField(_("stored as"), max_length=200, unique=True, editable=False)
    wrapped_key = EncryptedTextField(_("file key"), editable=False)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now, editable=False)
    # A sealed message's file (messaging.sealed): the stored bytes are the browser's ciphertext,
    # ``name`` is "attachment-N.sealed" and the real name is this envelope.
    sealed_name = EncryptedTextField(_("sealed file name"), blank=True, default="", editable=False)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        # Never the name: __str__ ends up in admin lists and logs.
        return f"Attachment #{self.pk}"

    @property
    def is_sealed(self) -> bool:
        return bool(self.sealed_name)
