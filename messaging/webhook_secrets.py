"""The owner's side of webhook signing secrets: show, regenerate, and keep them across edits.

A secret is made when a webhook recipient is written (``messaging.models.WebhookSecretField``);
the owner reads it on the message's page (a POST, so it never sits in a URL, a history or a
cache) and hands it to the recipient, who verifies each delivery with it
(``cradle_site.webhooks``). Because the recipient has to be told, an edit of the message
must not change it: ``message_update`` replaces the recipient rows, and the new row of an
address keeps the old row's secret (``secrets_by_address``). Only ``recipient_secret_regenerate``
makes a new one, for one recipient, while the message is still on its ladder.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from cradle_site import webhooks
from cradle_site.audit_vocabulary import EventType
from cradle_site.errors import StateError
from cradle_site.retry import retry_on_deadlock
from messaging.contacts import contact_hash
from messaging.models import Message, Recipient
from ops.audit import audit_record


def secrets_by_address(message: Message) -> dict[str, str]:
    """``{contact_hash: secret}`` of the message's webhook recipients."""
    rows = message.recipients.filter(contact_type=Recipient.ContactType.WEBHOOK)
    return dict(rows.values_list("contact_hash", "webhook_secret"))


def recipient_build(*, message: Message, item: dict, kept: dict[str, str]) -> Recipient:
    """A new Recipient row from a cleaned item; a webhook address named before keeps its secret."""
    recipient = Recipient(message=message, **item)
    if recipient.contact_type == Recipient.ContactType.WEBHOOK:
        recipient.webhook_secret = kept.get(contact_hash(recipient.contact_type, recipient.contact), "")
    return recipient


def recipient_secret_regenerate(*, recipient: Recipient) -> str:
    """Give a webhook recipient a new signing secret and return it; the old one stops working at once.

    Only while the message is on its ladder: once it is delivering, a delivery may already
    be under way signed with the old one, and the owner, by design, is not there to tell
    the recipient.
    """
    if recipient.contact_type != Recipient.ContactType.WEBHOOK:
        raise StateError(_("Only a webhook recipient has a signing secret."))

    def regenerate() -> str:
        with transaction.atomic():
            # The message row first, as every writer takes it (messaging.services).
            message = Message.objects.select_for_update().get(pk=recipient.message_id)
            if message.state != Message.State.ACTIVE:
                raise StateError(_("Only a message that has not been delivered or revoked can be changed."))
            secret = webhooks.new_secret()
            updated = Recipient.objects.filter(pk=recipient.pk, message=message).update(webhook_secret=secret)
            if not updated:
                raise StateError(_("This recipient is no longer on the message; reload the page."))
            # The field's name only, never the secret; the recipient by id, never its address.
            audit_record(
                EventType.MESSAGE_CHANGED,
                user=message.owner_id,
                obj=message,
                changed=["webhook_secret"],
                data={"recipient_id": recipient.pk},
            )
        return secret

    secret = retry_on_deadlock(regenerate)
    recipient.webhook_secret = secret
    return secret
