"""Trusted contacts with a veto window: name them, let them ask, let the owner refuse, grant when due.

A granted request is the one way a message leaves its ladder early, and only by the owner's
own choice for that message (its trusted access, off by default): promise 1 ("never early")
holds as before for every message whose trusted access is off. Promises 2 and 3 hold for all:
the grant delivers through the ladder's own Delivery rows, and a pause or revocation wins.

The rules, all here (pages, API, admin and the job call these functions):
- The owner names up to ``TRUSTED_CONTACTS_MAX`` contacts (a name, an e-mail address, a waiting
  period of 1-30 days). Each gets one e-mail with their personal page's link (256 random bits;
  the table keeps a keyed hash); pressing "Confirm" there verifies them. Only a verified
  contact may ask for access or pause, and only with their own token: a token names one
  contact of one owner, nothing else.
- Per message the owner chooses what a granted request does (``TrustedAccess.Mode``): nothing
  (the default), delivery to its recipients, or delivery to the trusted contact only.
- A request (``access_request``) is refused unless the owner has a message still on its ladder
  with trusted access on (a revoked or delivered message cannot be asked for). It fixes
  ``grant_at = requested_at + wait_days`` and tells the owner at once on every verified contact
  (failing ones too: a request is worth a try everywhere), and every covered message's history
  says so. One pending request per contact (checked under the contact's row lock).
- The owner (page, API, or staff in the admin) refuses a pending request (``access_refuse``);
  a conditional UPDATE on ``pending`` decides a race with the grant: one of them wins.
- ``access_grants_due`` (the ``messaging.trusted_grants`` schedule, every minute) grants each
  request whose ``grant_at`` has come: never before, since the claim repeats
  ``grant_at <= now``. It runs in one transaction per request: claim (pending -> granted,
  conditional, so two workers cannot both grant), then lock the owner's messages, then queue
  the delivery through the ladder's own path: the message goes ``active -> delivering`` with a
  conditional UPDATE and one ``Delivery`` row per recipient (unique per recipient,
  ``ignore_conflicts``), which ``messaging.delivery`` sends as if the ladder had run out. A
  message the sweep already moved to ``delivering`` is left as it is ("already being
  delivered"), so a grant racing the ladder delivers each recipient once. "Trusted contact
  only" adds the contact as the message's one extra recipient (named so) and queues only them.
- A pause in force wins (promise 3): a request due while one of its messages is paused waits
  for the pause to end, and the job grants it then.
- A trusted contact may pause the owner's warnings once (``trusted_pause``:
  ``MESSAGING_TRUSTED_PAUSE_DAYS``), through ``messaging.pauses`` like an owner's pause: the
  owner hears of it on their contacts. It never shortens a pause the owner set.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from cradle_site import crypto
from cradle_site.audit_vocabulary import EventType
from cradle_site.errors import StateError
from cradle_site.mail_errors import mail_failure
from messaging import history, owner_notify
from messaging.models import Delivery, Message, Pause, Recipient, StatusLog
from messaging.trusted_models import (
    WAIT_DAYS_MAX,
    WAIT_DAYS_MIN,
    AccessRequest,
    TrustedAccess,
    TrustedContact,
    email_key,
)
from ops.audit import audit_record

log = logging.getLogger(__name__)

TRUSTED_CONTACTS_MAX = 10
TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 64  # longer is junk: refused without hashing
NAME_MAX = 100
Mode = TrustedAccess.Mode


def token_hash(secret: str) -> str:
    return crypto.lookup_hash(f"trusted-page:{secret}")


def page_url(secret: str) -> str:
    return settings.SITE_URL + reverse("trusted_page", args=[secret])


def _record(event_type: str, *, owner_id: int, obj, actor: history.Actor = history.OWNER, **data) -> None:
    # Ids, counts and modes only: never the contact's address or a token.
    audit_record(event_type, user=owner_id, obj=obj, actor=history.audit_actor(actor), data=data)


# The owner's side: naming, removing, the per-message choice.


def _clean_contact(owner, *, name: str, email: str, wait_days) -> tuple[str, str, int]:
    errors = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = _("Say who this is.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("At most %(n)d characters.") % {"n": NAME_MAX}
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = _("Enter a valid e-mail address.")
    else:
        if email_key(email) == email_key(owner.email or ""):
            errors["email"] = _("A trusted contact is someone else: not your own address.")
    try:
        wait = int(wait_days)
    except (TypeError, ValueError):
        wait = 0
    if not WAIT_DAYS_MIN <= wait <= WAIT_DAYS_MAX:
        errors["wait_days"] = _("Choose between %(min)d and %(max)d days.") % {
            "min": WAIT_DAYS_MIN,
            "max": WAIT_DAYS_MAX,
        }
    if errors:
        raise ValidationError(errors)
    return name, email, wait


def trusted_contact_add(*, owner, name: str, email: str, wait_days) -> TrustedContact:
    """Name a trusted contact and send them their page's link; ``ValidationError`` keyed by field."""
    name, email, wait = _clean_contact(owner, name=name, email=email, wait_days=wait_days)
    contacts = TrustedContact.objects.owned_by(owner)
    if contacts.count() >= TRUSTED_CONTACTS_MAX:
        raise ValidationError({"name": _("At most %(n)d trusted contacts.") % {"n": TRUSTED_CONTACTS_MAX}})
    probe = TrustedContact(owner=owner, email=email)
    if contacts.filter(email_hash=TrustedContact._meta.get_field("email_hash").digest(probe)).exists():
        raise ValidationError({"email": _("This person is already one of your trusted contacts.")})
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        contact = TrustedContact.objects.create(
            owner=owner, name=name, email=email, wait_days=wait, token_hash=token_hash(secret)
        )
        _record(EventType.TRUSTED_CONTACT_ADDED, owner_id=owner.pk, obj=contact, wait_days=wait)
    _send_invitation(contact, secret)
    return contact


def _send_invitation(contact: TrustedContact, secret: str) -> None:
    """Best effort: a refused e-mail leaves the contact unverified (the owner sees it, and can add them again)."""
    owner = contact.owner
    with translation.override(owner.language):
        subject = _("%(owner)s named you as a trusted contact on Cradle") % {"owner": owner.get_username()}
        body = _(
            "Hello %(name)s,\n\n%(owner)s named you as a trusted contact on Cradle. If %(owner)s cannot be "
            "reached, you can ask Cradle for the messages they left; they have %(days)d days to refuse, "
            "and if they do not, the messages are delivered early. You can also pause their warnings once.\n\n"
            "Your personal page (keep this e-mail: the link is not shown again):\n%(url)s\n\n"
            'Open it and press "Confirm" so that it works.'
        ) % {"name": contact.name, "owner": owner.get_username(), "days": contact.wait_days, "url": page_url(secret)}
    mail = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [contact.email])
    try:
        mail.send()
    except Exception as exc:  # SMTP errors come in many classes: mail_failure sorts and logs them
        mail_failure(exc, what=f"trusted contact invitation {contact.pk}")


def trusted_contact_remove(*, contact: TrustedContact, now: datetime | None = None) -> None:
    """Remove a contact: their link stops working, and a request of theirs still waiting is refused.

    The refusal is written in the history of the messages it covered (one audit event for the
    whole removal, naming the refused request); the request row goes with the contact."""
    now = now or timezone.now()
    with transaction.atomic():
        pk = contact.pk
        waiting = AccessRequest.objects.select_for_update().filter(contact=contact, state=AccessRequest.State.PENDING)
        refused = None
        for request in waiting:  # one at most
            _refuse_logs(request, contact, history.OWNER, now)
            refused = request.pk
        _record(EventType.TRUSTED_CONTACT_REMOVED, owner_id=contact.owner_id, obj=contact, refused_request=refused)
        contact.delete()
        contact.pk = pk


def trusted_access_set(*, message: Message, mode: str) -> TrustedAccess:
    """Choose what a granted request does for ``message``; ``ValidationError`` keyed ``mode``."""
    if mode not in Mode.values:
        raise ValidationError({"mode": _("Choose one of the options.")})
    if not message.is_editable:
        raise StateError(_("Only a message that is still on its warning schedule can be changed."))
    with transaction.atomic():
        access, _created = TrustedAccess.objects.update_or_create(
            message=message, defaults={"mode": mode, "updated_at": timezone.now()}
        )
        _record(EventType.TRUSTED_ACCESS_CHANGED, owner_id=message.owner_id, obj=message, mode=mode)
    return access


def mode_of(message: Message) -> str:
    access = TrustedAccess.objects.filter(message=message).values_list("mode", flat=True).first()
    return access or Mode.OFF


def _covered(owner_id: int):
    """The owner's messages a request covers: on their ladder, with trusted access on."""
    return (
        Message.objects.filter(owner_id=owner_id, state=Message.State.ACTIVE)
        .filter(trusted_access__mode__in=[Mode.RECIPIENTS, Mode.CONTACT])
        .order_by("id")
    )


# The trusted contact's side: found by their token only.


def contact_find(secret: str) -> TrustedContact | None:
    if not secret or len(secret) > TOKEN_MAX_LENGTH:
        return None
    return TrustedContact.objects.select_related("owner").filter(token_hash=token_hash(secret)).first()


def trusted_contact_verify(*, contact: TrustedContact, now: datetime | None = None) -> bool:
    """The contact pressed "Confirm" on their page; True when this call verified them."""
    now = now or timezone.now()
    with transaction.atomic():
        moved = TrustedContact.objects.filter(pk=contact.pk, verified_at__isnull=True).update(verified_at=now)
        if moved:
            _record(
                EventType.TRUSTED_CONTACT_VERIFIED,
                owner_id=contact.owner_id,
                obj=contact,
                actor=history.TRUSTED_CONTACT,
            )
    if moved:
        contact.verified_at = now
    return bool(moved)


def pending_of(contact: TrustedContact) -> AccessRequest | None:
    return AccessRequest.objects.filter(contact=contact, state=AccessRequest.State.PENDING).first()


def access_request(*, contact: TrustedContact, now: datetime | None = None) -> AccessRequest:
    """The contact's "Request access"; ``StateError`` saying why when it cannot be asked."""
    now = now or timezone.now()
    if not contact.is_verified:
        raise StateError(_("Confirm your address first."))
    with transaction.atomic():
        # The contact's row lock: two presses at once queue here, and the second sees the first's request.
        TrustedContact.objects.select_for_update().filter(pk=contact.pk).values_list("pk", flat=True).first()
        if pending_of(contact) is not None:
            raise StateError(_("You have asked already; the request is waiting for its time."))
        covered = list(_covered(contact.owner_id).values_list("id", "trusted_access__mode"))
        if not covered:
            raise StateError(_("There is no message you can ask for."))
        request = AccessRequest.objects.create(
            owner_id=contact.owner_id,
            contact=contact,
            requested_at=now,
            grant_at=now + timedelta(days=contact.wait_days),
        )
        StatusLog.objects.bulk_create(
            StatusLog(
                message_id=i, created_at=now, **history.trusted_requested(request=request, contact=contact, mode=m)
            )
            for i, m in covered
        )
        _record(
            EventType.ACCESS_REQUESTED,
            owner_id=contact.owner_id,
            obj=request,
            actor=history.TRUSTED_CONTACT,
            contact_id=contact.pk,
            messages=len(covered),
            grant_at=request.grant_at.isoformat(),
        )
        transaction.on_commit(lambda: _tell_owner(request, contact))
    return request


def _tell_owner(request: AccessRequest, contact: TrustedContact) -> int:
    owner = contact.owner
    with translation.override(owner.language), timezone.override(owner.time_zone):
        when = formats.date_format(timezone.localtime(request.grant_at), "DATETIME_FORMAT")
        subject = _("Cradle: %(name)s asked for your messages") % {"name": contact.name}
        body = _(
            "%(name)s, your trusted contact, asked Cradle for your messages. Unless you refuse, they are "
            "delivered on %(when)s (%(zone)s).\n\nTo refuse, log in and open your trusted contacts: %(url)s"
        ) % {
            "name": contact.name,
            "when": when,
            "zone": owner.time_zone,
            "url": settings.SITE_URL + reverse("messaging:trusted_contacts"),
        }
    return owner_notify.owner_notify(owner=owner, subject=subject, body=body, every_verified=True)


def access_refuse(
    *, request: AccessRequest, actor: history.Actor = history.OWNER, now: datetime | None = None
) -> AccessRequest:
    """The owner's "Refuse": the request is never granted. ``StateError`` when it was decided already."""
    now = now or timezone.now()
    with transaction.atomic():
        moved = AccessRequest.objects.filter(pk=request.pk, state=AccessRequest.State.PENDING).update(
            state=AccessRequest.State.REFUSED, decided_at=now
        )
        if not moved:
            raise StateError(_("This request has been decided already."))
        contact = request.contact
        _refuse_logs(request, contact, actor, now)
        _record(EventType.ACCESS_REFUSED, owner_id=request.owner_id, obj=request, actor=actor, contact_id=contact.pk)
    request.state, request.decided_at = AccessRequest.State.REFUSED, now
    return request


def _refuse_logs(request: AccessRequest, contact: TrustedContact, actor: history.Actor, now: datetime) -> None:
    """TRUSTED_REFUSED in the history of every message the request was logged on."""
    ids = list(
        StatusLog.objects.filter(
            status=StatusLog.Status.TRUSTED_REQUESTED,
            data__request_id=request.pk,
            message__owner_id=request.owner_id,
        ).values_list("message_id", flat=True)
    )
    StatusLog.objects.bulk_create(
        StatusLog(
            message_id=i, created_at=now, **history.trusted_refused(request=request, contact=contact, actor=actor)
        )
        for i in ids
    )


# The job.


def access_grants_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Grant every pending request whose waiting period is over; return how many were granted."""
    now = now or timezone.now()
    ids = list(
        AccessRequest.objects.filter(state=AccessRequest.State.PENDING, grant_at__lte=now)
        .order_by("grant_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(access_grant(request_id=i, now=now) for i in ids)


def access_grant(*, request_id: int, now: datetime | None = None) -> bool:
    """Grant one due request, once; False when it is not due, decided already, or held by a pause."""
    now = now or timezone.now()
    with transaction.atomic():
        request = (
            AccessRequest.objects.select_for_update()
            .select_related("contact", "owner")
            .filter(pk=request_id, state=AccessRequest.State.PENDING, grant_at__lte=now)
            .first()
        )
        if request is None:
            return False  # refused, granted by another worker, or not due: never before grant_at
        # The owner's messages, locked as every writer of a message locks it (the sweep skips them meanwhile).
        messages = list(
            Message.objects.select_for_update()
            .filter(owner_id=request.owner_id)
            .filter(
                trusted_access__mode__in=[Mode.RECIPIENTS, Mode.CONTACT],
                state__in=[Message.State.ACTIVE, Message.State.DELIVERING],
            )
            .order_by("id")
        )
        if any(
            m.paused_until is not None and m.paused_until > now for m in messages if m.state == Message.State.ACTIVE
        ):
            return False  # a pause in force wins; granted when it ends
        moved = AccessRequest.objects.filter(pk=request.pk, state=AccessRequest.State.PENDING).update(
            state=AccessRequest.State.GRANTED, decided_at=now
        )
        if not moved:
            return False
        modes = dict(TrustedAccess.objects.filter(message__in=messages).values_list("message_id", "mode"))
        granted = 0
        logs = []
        for message in messages:
            started = _start_delivery(message, request.contact, modes[message.pk], now)
            granted += started
            logs.append(
                StatusLog(
                    message=message,
                    created_at=now,
                    **history.trusted_granted(
                        request=request, contact=request.contact, mode=modes[message.pk], queued=started
                    ),
                )
            )
        StatusLog.objects.bulk_create(logs)
        AccessRequest.objects.filter(pk=request.pk).update(messages_granted=granted)
        _record(
            EventType.ACCESS_GRANTED,
            owner_id=request.owner_id,
            obj=request,
            actor=history.TRUSTED_GRANTS,
            contact_id=request.contact_id,
            messages=granted,
        )
    return True


def _start_delivery(message: Message, contact: TrustedContact, mode: str, now: datetime) -> bool:
    """Queue ``message``'s delivery as the ladder's end does (``messaging.sweep``); False if already under way.

    Called under the message's row lock. The UPDATE is conditional on ``active``: the sweep
    may have started the delivery since (then its Delivery rows stand, and nothing is added).
    """
    from messaging.sweep import recipients_once

    moved = Message.objects.filter(pk=message.pk, state=Message.State.ACTIVE).update(
        state=Message.State.DELIVERING, is_active=False, updated_at=now
    )
    if not moved:
        return False
    if mode == Mode.CONTACT:
        recipient = Recipient.objects.create(
            message=message,
            name=_trusted_name(contact),
            contact=contact.email,
            contact_type=Recipient.ContactType.EMAIL,
        )
        pairs = [(recipient.pk, message.pk)]
    else:
        pairs = recipients_once([message.pk])
    # ignore_conflicts: the recipient column is unique, so a delivery row exists once (as the sweep writes them).
    Delivery.objects.bulk_create(
        [Delivery(recipient_id=r, message_id=m, next_attempt_at=now, created_at=now) for r, m in pairs],
        ignore_conflicts=True,
    )
    if not pairs:
        Message.objects.filter(pk=message.pk).update(state=Message.State.DELIVERED, delivered_at=now)
        StatusLog.objects.create(
            message=message, created_at=now, **history.delivered(recipients=0, actor=history.TRUSTED_GRANTS)
        )
    return True


def _trusted_name(contact: TrustedContact) -> str:
    return f"{contact.name} (trusted contact)"[:NAME_MAX]


def trusted_pause(*, contact: TrustedContact, now: datetime | None = None) -> Pause:
    """The contact's one "Pause the warnings": every message of the owner, ``MESSAGING_TRUSTED_PAUSE_DAYS``."""
    from messaging import pauses

    now = now or timezone.now()
    if not contact.is_verified:
        raise StateError(_("Confirm your address first."))
    until = now + timedelta(days=settings.MESSAGING_TRUSTED_PAUSE_DAYS)
    longer = Pause.objects.in_force(now).filter(owner_id=contact.owner_id, message__isnull=True, until__gte=until)
    if longer.exists():
        raise StateError(_("The warnings are paused already, for longer than you could."))
    # The one pause: claimed first, given back if the pause could not start.
    if not TrustedContact.objects.filter(pk=contact.pk, paused_at__isnull=True).update(paused_at=now):
        raise StateError(_("You have used your pause already."))
    try:
        pause = pauses.pause_start(owner=contact.owner, until=until, now=now, actor=history.TRUSTED_CONTACT)
    except BaseException:
        TrustedContact.objects.filter(pk=contact.pk).update(paused_at=None)
        raise
    contact.paused_at = now
    return pause
