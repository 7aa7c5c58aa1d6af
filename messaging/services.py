"""The rules for changing a message. Pages, API, admin actions and tasks all call these.

Every rule on the input lives here, limits included (a title's length, how many recipients),
so the page, the API and the admin refuse the same things; forms and serializers may show
the limits but take their numbers from here. Bad input raises ``ValidationError`` keyed by
field; an answer the message's state does not allow raises ``StateError``.

State changes lock the message row (``select_for_update``) and re-check its state inside
the transaction, so an answer and a concurrent sweep cannot both win: whichever commits
second sees the other's result.

Every writer takes the message row first, by primary key, before any secondary-index entry
(the jobs too: ``cradle_site.leases.compare_and_set``), so an answer waits for a sender at
most for one short transaction and does not deadlock with it. Should a transaction still
lose a deadlock, it is rolled back whole and run again (``retry_on_deadlock``); one that
keeps losing raises ``cradle_site.errors.Busy``, nothing saved, and the owner is told to
try again (pages: a flash; API: 503). An answer is never half-applied and never a 500.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cradle_site.audit_vocabulary import EventType
from cradle_site.errors import Busy, StateError
from cradle_site.retry import retry_on_deadlock
from cradle_site.text import validate_single_line
from messaging import history, ladder, named, notices, pauses, webhook_secrets
from messaging.audit_changes import message_changed_fields
from messaging.channels import validate_contact
from messaging.contacts import contact_key
from messaging.models import MAX_LEVEL, Delivery, Message, MessageBody, Recipient, StatusLog
from messaging.sealed import clean_hint, envelope_validate
from ops.audit import audit_record

# The title is encrypted (a text column), so no column length limits it: this does.
TITLE_MAX_LENGTH = 200
DELAY_MIN_MONTHS = 1  # the maximum is the operator's: settings.MESSAGING_MAX_DELAY_MONTHS
RECIPIENTS_MAX = 50
RECIPIENT_NAME_MAX_LENGTH = Recipient._meta.get_field("name").max_length
# The contact is encrypted (a text column); this keeps an address to what any channel takes.
RECIPIENT_CONTACT_MAX_LENGTH = 500


def revocation_key_hash(key: str) -> str:
    # The key is 256 random bits: a plain SHA-256 is enough and allows a unique index.
    return hashlib.sha256(key.strip().encode()).hexdigest()


def validate_delay(months: int) -> int:
    try:
        months = int(months)
    except (TypeError, ValueError):
        months = 0  # refused below, with the same reason
    if not DELAY_MIN_MONTHS <= months <= settings.MESSAGING_MAX_DELAY_MONTHS:
        raise ValidationError(
            {
                "initial_delay_months": _("Choose between %(min)d and %(max)d months.")
                % {"min": DELAY_MIN_MONTHS, "max": settings.MESSAGING_MAX_DELAY_MONTHS}
            }
        )
    return months


KEEP_DAYS_MAX = 3650


def validate_keep_days(days: int | None) -> int | None:
    """None (keep the attachments until the message is deleted) or 1 to ``KEEP_DAYS_MAX`` days."""
    if days is None or days == "":
        return None
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= KEEP_DAYS_MAX:
        raise ValidationError(
            {
                "attachments_keep_days": _("Enter a number of days from 1 to %(max)s, or leave it empty.")
                % {"max": KEEP_DAYS_MAX}
            }
        )
    return days


def clean_title(title: str) -> str:
    title = title or ""
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationError({"title": _too_long(TITLE_MAX_LENGTH)})
    _single_line(title, "title")  # it becomes the delivery e-mail's subject
    return title


def _single_line(value: str, field: str) -> None:
    """Refuse a line break or control character in a one-line field, naming the field."""
    try:
        validate_single_line(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages[0]}) from None


def _too_long(limit: int) -> str:
    return _("At most %(n)s characters.") % {"n": limit}


def clean_recipients(recipients: list[dict]) -> list[dict]:
    """Validate each ``{"name", "contact", "contact_type", "tell_named"}``; errors keyed ``recipients[i].field``.

    ``tell_named`` (optional, default False): send the recipient "you are named" (messaging.named).
    """
    if not recipients:
        raise ValidationError({"recipients": _("Name at least one recipient.")})
    if len(recipients) > RECIPIENTS_MAX:
        raise ValidationError({"recipients": _("At most %(n)d recipients.") % {"n": RECIPIENTS_MAX}})
    cleaned, errors = [], {}
    first_of: dict[tuple[str, str], int] = {}  # contact_key -> the row that named it first
    for index, item in enumerate(recipients):
        name = (item.get("name") or "").strip()
        contact_type = item.get("contact_type") or Recipient.ContactType.EMAIL
        if not name:
            errors[f"recipients[{index}].name"] = _("This field is required.")
        elif len(name) > RECIPIENT_NAME_MAX_LENGTH:
            errors[f"recipients[{index}].name"] = _too_long(RECIPIENT_NAME_MAX_LENGTH)
        else:
            try:
                _single_line(name, f"recipients[{index}].name")
            except ValidationError as exc:
                errors.update(exc.message_dict)
        try:
            validate_single_line((item.get("contact") or "").strip())
            contact = validate_contact(contact_type, item.get("contact", ""))
        except ValidationError as exc:
            errors[f"recipients[{index}].contact"] = exc.messages[0]
            continue
        if len(contact) > RECIPIENT_CONTACT_MAX_LENGTH:
            errors[f"recipients[{index}].contact"] = _too_long(RECIPIENT_CONTACT_MAX_LENGTH)
            continue
        # Each address gets the message once: a second row with the same address is refused
        # here, so the page, the API and the admin all say so on that row.
        first = first_of.setdefault(contact_key(contact_type, contact), index)
        if first != index:
            errors[f"recipients[{index}].contact"] = _already_named(recipients[first], first)
            continue
        tell_named = item.get("tell_named", False)
        if not isinstance(tell_named, bool):
            errors[f"recipients[{index}].tell_named"] = _("Must be true or false.")
            continue
        if tell_named and not named.named_allowed(contact_type):
            errors[f"recipients[{index}].tell_named"] = named.named_refused_text()
            continue
        cleaned.append({"name": name, "contact": contact, "contact_type": contact_type, "tell_named": tell_named})
    if errors:
        raise ValidationError(errors)
    return cleaned


def _already_named(first: dict, index: int) -> str:
    name = (first.get("name") or "").strip() or _("Recipient %(n)d") % {"n": index + 1}
    return _("%(name)s already has this address; each address gets the message once.") % {"name": name}


def clean_seal(is_sealed: bool, content: str, hint: str) -> tuple[str, str]:
    """(content, hint) for a sealed message (the envelope checked) or a plain one (no hint)."""
    if not is_sealed:
        return content, ""
    return envelope_validate(content), clean_hint(hint)


KEEP = object()  # message_update: leave this choice as it is (an API PATCH that does not name it)


def clean_contacts_from_level(value) -> int | None:
    """None (each contact's own level) or a warning level 1-5, else ``ValidationError`` keyed by the field."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ValidationError({"contacts_from_level": _("Choose a warning level from 1 to 5.")})
    level = int(value)
    if not 1 <= level <= MAX_LEVEL:
        raise ValidationError({"contacts_from_level": _("Choose a warning level from 1 to 5.")})
    return level


def message_create(
    *,
    owner,
    content: str,
    initial_delay_months: int,
    recipients: list[dict],
    title: str = "",
    activity_resets: bool = False,
    ladder_name: str = ladder.SEED,
    ladder_steps: list[int] | None = None,
    contacts_from_level: int | None = None,
    include_text_in_notice: bool = False,
    attachments_keep_days: int | None = None,
    sealed: bool = False,
    seal_hint: str = "",
    now: datetime | None = None,
) -> tuple[Message, str]:
    """Create a message and its recipients; return it with the revocation key (shown once).

    ``activity_resets``: the owner's log-ins and API calls count as a check-in (messaging.activity).
    ``ladder_name``: the seed's ladder, a preset, or ``custom`` with ``ladder_steps`` in seconds
    (messaging.ladder). Written during a pause of all the owner's messages, it waits for it too.
    ``contacts_from_level``: from this warning on every verified contact is warned, whatever
    each contact's own level (None: theirs; messaging.escalation).
    ``include_text_in_notice``: the text goes in the recipients' e-mail, not only on their page.
    ``attachments_keep_days``: delete the attachments this many days after delivery (None: keep).
    ``sealed``: ``content`` is the envelope the owner's browser encrypted (messaging.sealed),
    ``seal_hint`` its hint; the text is then never in the e-mail, whatever ``include_text_in_notice``.
    """
    now = now or timezone.now()
    content, seal_hint = clean_seal(sealed, content, seal_hint)
    title = clean_title(title)
    months = validate_delay(initial_delay_months)
    preset, seconds = ladder.resolve(ladder_name, ladder_steps)
    contacts_from_level = clean_contacts_from_level(contacts_from_level)
    keep_days = validate_keep_days(attachments_keep_days)
    cleaned = clean_recipients(recipients)
    if not (content or "").strip():
        raise ValidationError({"content": _("Write the message.")})
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        message = Message(
            owner=owner,
            title=title,
            initial_delay_months=months,
            activity_resets=bool(activity_resets),
            ladder_preset=preset,
            ladder_seconds=seconds,
            contacts_from_level=contacts_from_level,
            include_text_in_notice=bool(include_text_in_notice) and not sealed,
            attachments_keep_days=keep_days,
            sealed=bool(sealed),
            seal_hint=seal_hint,
            created_at=now,
            cycle_started_at=now,
            revocation_key_hash=revocation_key_hash(key),
        )
        message.next_warning_date = now + ladder.ladder_of(message).first
        pauses.hold_new_message(message, now=now)
        message.save(force_insert=True)
        MessageBody.objects.create(message=message, content=content)
        Recipient.objects.bulk_create([Recipient(message=message, **item) for item in cleaned])
        named.named_notices_queue(message=message, now=now)
        audit_record(EventType.MESSAGE_CREATED, user=owner, obj=message, data={"recipients": len(cleaned)})
    return message, key


def message_update(
    *,
    message: Message,
    content: str,
    initial_delay_months: int,
    title: str = "",
    recipients: list[dict] | None = None,
    activity_resets: bool | None = None,
    ladder_name: str | None = None,
    ladder_steps: list[int] | None = None,
    contacts_from_level=KEEP,
    include_text_in_notice: bool | None = None,
    attachments_keep_days=KEEP,
    sealed: bool | None = None,
    seal_hint: str | None = None,
    now: datetime | None = None,
) -> Message:
    """Change a message that is still on its ladder. A new delay or ladder applies at level 0 only.

    ``activity_resets``, ``ladder_name`` and ``include_text_in_notice`` None, ``contacts_from_level``
    and ``attachments_keep_days`` KEEP: the message's choice stays (an API PATCH that does not name
    them). Once a warning is out, a different ladder is refused (``ladder``): the owner answers
    first, so the warnings under way keep the dates their e-mails gave. ``sealed`` / ``seal_hint``
    None: as they are (``content`` is then checked as the message's kind requires). Sealing or
    unsealing a message with files is refused (``sealed``): each file was encrypted, or not,
    with the message, and the server cannot change that."""
    now = now or timezone.now()
    if sealed is None:
        sealed = message.sealed
        seal_hint = message.seal_hint if seal_hint is None else seal_hint
    content, seal_hint = clean_seal(sealed, content, seal_hint or "")
    title = clean_title(title)
    months = validate_delay(initial_delay_months)
    chosen = ladder.resolve(ladder_name, ladder_steps) if ladder_name is not None else None
    if attachments_keep_days is not KEEP:
        attachments_keep_days = validate_keep_days(attachments_keep_days)
    cleaned = clean_recipients(recipients) if recipients is not None else None
    if contacts_from_level is not KEEP:
        contacts_from_level = clean_contacts_from_level(contacts_from_level)
    if not (content or "").strip():
        raise ValidationError({"content": _("Write the message.")})

    def update() -> Message:
        with transaction.atomic():
            locked = _lock(message)
            if locked.state != Message.State.ACTIVE:
                raise StateError(_("Only a message that has not been delivered or revoked can be changed."))
            changed = message_changed_fields(
                locked, title=title, content=content, months=months, activity_resets=activity_resets, recipients=cleaned
            )
            if bool(sealed) != locked.sealed:
                if locked.attachments.exists():
                    raise ValidationError(
                        {
                            "sealed": _(
                                "Remove the attached files first: a message is sealed or unsealed with its files."
                            )
                        }
                    )
                changed.append("sealed")
            if seal_hint != locked.seal_hint:
                changed.append("seal_hint")
            locked.sealed, locked.seal_hint = bool(sealed), seal_hint
            if locked.sealed:
                locked.include_text_in_notice = False
            before = ladder.ladder_of(locked)
            if chosen is not None and chosen != (locked.ladder_preset, locked.ladder_seconds):
                if locked.warning_level > 0:
                    raise ValidationError(
                        {"ladder": _("A warning is under way: answer it first, then change the warning schedule.")}
                    )
                locked.ladder_preset, locked.ladder_seconds = chosen
                changed.append("ladder")
            locked.title = title
            MessageBody.objects.update_or_create(message=locked, defaults={"content": content})
            locked.initial_delay_months = months
            after = ladder.ladder_of(locked)
            if after.first != before.first and locked.warning_level == 0:
                # Never earlier than now: a shorter delay warns at the next sweep, not in the past;
                # and never inside a pause in force (messaging.pauses).
                locked.next_warning_date = max(locked.cycle_started_at + after.first, now)
                pauses.keep_held(locked, now=now)
            if activity_resets is not None:
                locked.activity_resets = bool(activity_resets)
            if contacts_from_level is not KEEP and contacts_from_level != locked.contacts_from_level:
                locked.contacts_from_level = contacts_from_level
                changed.append("contacts_from_level")
            if (
                include_text_in_notice is not None
                and not locked.sealed
                and bool(include_text_in_notice) != locked.include_text_in_notice
            ):
                locked.include_text_in_notice = bool(include_text_in_notice)
                changed.append("include_text_in_notice")
            if attachments_keep_days is not KEEP and attachments_keep_days != locked.attachments_keep_days:
                locked.attachments_keep_days = attachments_keep_days
                changed.append("attachments_keep_days")
            locked.save()
            if cleaned is not None:
                # Safe to replace: an active message has no delivery records yet. A webhook
                # address named again keeps its signing secret: its recipient already has it.
                # So does whether it was told it is named and confirmed it (messaging.named).
                kept = webhook_secrets.secrets_by_address(locked)
                told = named.named_facts_keep(locked)
                locked.recipients.all().delete()
                rows = [webhook_secrets.recipient_build(message=locked, item=item, kept=kept) for item in cleaned]
                named.named_facts_restore(rows, told)
                Recipient.objects.bulk_create(rows)
                named.named_notices_queue(message=locked, now=now)
            audit_record(EventType.MESSAGE_CHANGED, user=locked.owner_id, obj=locked, changed=changed)
        return locked

    _refresh(message, retry_on_deadlock(update))
    return message


def message_delete(*, message: Message) -> None:
    """Delete a message with its recipients and history (the API's DELETE); one audit event.

    The event names the message by id only and outlives it: the audit log keeps no
    foreign key (``ops.audit_models``).
    """

    def delete() -> None:
        with transaction.atomic():
            # The message row first, as every writer takes it; gone meanwhile: nothing to record.
            locked = Message.objects.select_for_update().filter(pk=message.pk).first()
            if locked is None:
                return
            owner_id, pk = locked.owner_id, locked.pk
            locked.delete()
            audit_record(EventType.MESSAGE_DELETED, user=owner_id, obj=(Message, pk))

    retry_on_deadlock(delete)


def _lock(message: Message) -> Message:
    return Message.objects.select_for_update().get(pk=message.pk)


def _refresh(target: Message, source: Message) -> None:
    for field in Message._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _drop_pending_warning(message: Message) -> None:
    # A warning queued before the answer must not reach the owner after it.
    message.warning_email_due_at = None
    message.warning_email_attempts = 0
    message.warning_email_sending_until = None


class _SendUnderWay(Busy):
    """A warning of this message is being sent at this moment (``_after_any_send``)."""


def _refuse_during_send(locked: Message) -> None:
    if notices.warning_send_under_way(locked):
        raise _SendUnderWay("a warning e-mail for this message is being sent")


def _after_any_send(message: Message, answer: Callable[[], Message]) -> Message:
    """Run ``answer`` (a transaction that calls ``_refuse_during_send`` under the row lock) once no
    warning of ``message`` is being sent; wait for one that is, then say "try again".

    A reset must not be confirmed while a warning of the cycle it ends is still on its way to
    the owner: it would arrive after "you're still here" was saved. The sender marks the send
    (``messaging.notices``); the check under the row lock is the guard, and the waiting in
    between (up to ``MESSAGING_ANSWER_WAIT_SECONDS``, no lock held) lets it pass the sends of a
    live sender, which take milliseconds. Still refused at the end: ``Busy``, nothing saved
    (the page says "try again", the API answers 503 with Retry-After).
    """
    deadline = time.monotonic() + settings.MESSAGING_ANSWER_WAIT_SECONDS
    while True:
        try:
            return retry_on_deadlock(answer)
        except _SendUnderWay as exc:
            if time.monotonic() >= deadline:
                raise Busy(*exc.args) from exc
        while time.monotonic() < deadline and _send_marked(message):
            time.sleep(0.02)


def _send_marked(message: Message) -> bool:
    until = Message.objects.filter(pk=message.pk).values_list("warning_email_sending_until", flat=True).first()
    return until is not None and until > timezone.now()


# A check the caller adds under the row lock, before anything is written (the check-in link's
# "this step, once": messaging.links.link_guard). It raises StateError to refuse; what it
# writes commits or rolls back with the answer.
Guard = Callable[[Message], None]


def _locked_for(message: Message, guard: Guard | None) -> Message:
    locked = _lock(message)
    if guard is not None:
        guard(locked)
    return locked


def message_reset(
    *,
    message: Message,
    now: datetime | None = None,
    actor: history.Actor = history.OWNER,
    all_messages: bool = False,
    guard: Guard | None = None,
) -> Message:
    """RESET: the owner is fine. Back to level 0; the next warning is D from now.

    ``actor`` is who answered (the owner logged in, the check-in link, the ping URL, or staff
    from the admin); ``all_messages`` says the history that it came with "I'm still here" for
    every message; ``guard`` (see ``Guard``) runs under the lock first.
    """
    now = now or timezone.now()

    def reset() -> Message:
        with transaction.atomic():
            locked = _locked_for(message, guard)
            if locked.state != Message.State.ACTIVE:
                raise StateError(
                    _("This message can no longer be reset (it is %(state)s).") % {"state": locked.get_state_display()}
                )
            _refuse_during_send(locked)
            previous = locked.warning_level
            locked.warning_level = 0
            locked.cycle_started_at = now
            locked.next_warning_date = now + ladder.ladder_of(locked).first
            _drop_pending_warning(locked)
            pauses.keep_held(locked, now=now)
            locked.save(
                update_fields=[
                    "warning_level",
                    "cycle_started_at",
                    "next_warning_date",
                    "warning_email_due_at",
                    "warning_email_attempts",
                    "warning_email_sending_until",
                    "updated_at",
                ]
            )
            StatusLog.objects.create(
                message=locked,
                created_at=now,
                **history.reset(from_level=previous, actor=actor, all_messages=all_messages),
            )
            audit_record(
                EventType.MESSAGE_RESET,
                user=locked.owner_id,
                obj=locked,
                actor=history.audit_actor(actor),
                data={"from_level": previous, "all_messages": all_messages},
            )
        return locked

    _refresh(message, _after_any_send(message, reset))
    return message


def messages_reset_all(*, owner, now: datetime | None = None, actor: history.Actor = history.OWNER) -> int:
    """ "I'm still here": RESET every message of ``owner`` still on its ladder; return how many.

    Each goes through ``message_reset`` (its own lock and log), so one that a sweep or
    another answer moves off the ladder meanwhile is skipped, not forced. All of them in one
    transaction, locked in id order: the answer is saved whole or not at all, so "not saved,
    try again" (``Busy``) is true when it is said, and running it again is safe.
    """
    now = now or timezone.now()

    def reset_each() -> int:
        done = 0
        with transaction.atomic():
            for message in Message.objects.owned_by(owner).filter(state=Message.State.ACTIVE).order_by("id"):
                try:
                    message_reset(message=message, now=now, actor=actor, all_messages=True)
                except StateError:
                    continue
                done += 1
        return done

    return retry_on_deadlock(reset_each)


def message_continue(
    *,
    message: Message,
    now: datetime | None = None,
    actor: history.Actor = history.OWNER,
    guard: Guard | None = None,
) -> Message:
    """CONTINUE: the owner saw the warning and lets the ladder go on. Logged, nothing moves."""
    now = now or timezone.now()

    def acknowledge() -> Message:
        with transaction.atomic():
            locked = _locked_for(message, guard)
            if locked.state != Message.State.ACTIVE:
                raise StateError(
                    _("This message is no longer on its warning schedule (it is %(state)s).")
                    % {"state": locked.get_state_display()}
                )
            if locked.warning_level == 0:
                # An old check-in link still offers the answer after a reset: nothing is
                # out to acknowledge, and "continue" must not read as "I'm still here".
                raise StateError(
                    _("No warning is waiting for an answer: Continue only acknowledges a warning you received.")
                )
            StatusLog.objects.create(
                message=locked, created_at=now, **history.continued(level=locked.warning_level, actor=actor)
            )
            audit_record(
                EventType.MESSAGE_ANSWERED,
                user=locked.owner_id,
                obj=locked,
                actor=history.audit_actor(actor),
                data={"level": locked.warning_level},
            )
        return locked

    _refresh(message, retry_on_deadlock(acknowledge))
    return message


def message_revoke(
    *,
    message: Message,
    now: datetime | None = None,
    actor: history.Actor = history.OWNER,
    guard: Guard | None = None,
) -> Message:
    """REVOKE: the message will never be delivered. Pending deliveries are cancelled."""
    now = now or timezone.now()

    def revoke() -> Message:
        with transaction.atomic():
            locked = _locked_for(message, guard)
            if not locked.is_revocable:
                raise StateError(
                    _("This message can no longer be revoked (it is %(state)s).")
                    % {"state": locked.get_state_display()}
                )
            if locked.state == Message.State.DELIVERING and _every_delivery_sent(locked):
                # Every recipient has it (the message is waiting for its DELIVERED, see
                # messaging.delivery.messages_complete): a REVOKED now would be false history.
                raise StateError(_("This message can no longer be revoked: it has already been delivered."))
            locked.state = Message.State.REVOKED
            locked.is_active = False
            locked.revoked_at = now
            _drop_pending_warning(locked)
            locked.save(
                update_fields=[
                    "state",
                    "is_active",
                    "revoked_at",
                    "warning_email_due_at",
                    "warning_email_attempts",
                    "warning_email_sending_until",
                    "updated_at",
                ]
            )
            # Claimed rows too: a send already under way cannot be recalled (it is recorded as
            # sent if it succeeds), but every later one sees the cancel: a delivery sender
            # checks the state under this row's lock, so it waits for this transaction
            # (messaging.delivery._hold_for_send).
            Delivery.objects.filter(
                message=locked, state__in=[Delivery.State.PENDING, Delivery.State.FAILED, Delivery.State.SENDING]
            ).update(state=Delivery.State.CANCELLED, lease_until=None)
            StatusLog.objects.create(message=locked, created_at=now, **history.revoked(actor=actor))
            audit_record(EventType.MESSAGE_REVOKED, user=locked.owner_id, obj=locked, actor=history.audit_actor(actor))
        return locked

    _refresh(message, retry_on_deadlock(revoke))
    return message


def _every_delivery_sent(message: Message) -> bool:
    deliveries = Delivery.objects.filter(message=message)
    return deliveries.exists() and not deliveries.exclude(state=Delivery.State.SENT).exists()


def message_find_by_key(*, key: str) -> Message | None:
    """The message this revocation key belongs to, whatever its state; None when none has it."""
    if not key or not key.strip():
        return None
    return Message.objects.filter(revocation_key_hash=revocation_key_hash(key)).first()


def message_revoke_by_key(*, key: str, now: datetime | None = None) -> Message | None:
    """Revoke the message this revocation key belongs to; None when no revocable message matches."""
    message = message_find_by_key(key=key)
    if message is None or not message.is_revocable:
        return None
    try:
        return message_revoke(message=message, now=now, actor=history.REVOCATION_KEY)
    except StateError:
        return None


def delivery_retry(*, delivery: Delivery, now: datetime | None = None) -> bool:
    """Put a failed delivery back in the queue (staff action). False when it is not failed."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Delivery.objects.filter(
            pk=delivery.pk, state=Delivery.State.FAILED, message__state=Message.State.DELIVERING
        ).update(state=Delivery.State.PENDING, next_attempt_at=now, lease_until=None)
        if updated:
            audit_record(EventType.DELIVERY_RETRIED, user=delivery.message.owner_id, obj=delivery)
    return bool(updated)
