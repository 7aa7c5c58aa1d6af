"""The pages: my messages, create/edit, detail, answers, public revocation (check-in links: checkin_views).

Every page whose POST changes a message is behind ``writer_required`` (a viewer gets 403);
the public revocation page is not: the key is the authority there (cradle_site.roles).

A service that raises ``Busy`` (the database kept losing a lock conflict; nothing was saved)
is answered with ``BUSY_TEXT`` on the same page, never a 500: the owner tries again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.reauth import reauth_required
from cradle_site import ratelimit
from cradle_site.errors import Busy, StateError
from cradle_site.form_errors import add_service_errors
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from messaging import ladder, pauses, projection, services, webhook_secrets
from messaging.forms import MessageForm, RecipientFormSet, RevokeByKeyForm
from messaging.models import Message, Recipient

BUSY_TEXT = gettext_lazy("Cradle is busy; your answer was not saved — please try again.")

ACTIONS = {
    "reset": services.message_reset,
    "continue": services.message_continue,
    "revoke": services.message_revoke,
}


PAGE_SIZE = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# What the list shows: the body is never loaded, and only these rows' titles are decrypted.
_LIST_FIELDS = (
    "id",
    "owner_id",
    "title",
    "state",
    "warning_level",
    "next_warning_date",
    "created_at",
    "ladder_seconds",
)


def _cursor_of(message: Message) -> str:
    # Whole microseconds since the epoch, so the cursor is exact (no float rounding) and URL-safe.
    return f"{(message.created_at - _EPOCH) // _MICROSECOND}.{message.pk}"


def _cursor_from(raw: str) -> tuple[datetime, int] | None:
    """(created_at, id) from a cursor; None for anything that is not one (the first page is served)."""
    micros, _dot, pk = raw.partition(".")
    try:
        return _EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


def _message_page(owned, *, before: tuple[datetime, int] | None, after: tuple[datetime, int] | None):
    """One page newest first, keyset-walked on (owner, -created_at, -id): the last page costs what the first does.

    Returns (rows, has_newer, has_older).
    """
    rows = owned.only(*_LIST_FIELDS)
    if after is not None:
        at, pk = after
        newer = list(
            rows.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=pk)).order_by("created_at", "id")[
                : PAGE_SIZE + 1
            ]
        )
        if len(newer) > PAGE_SIZE:
            return newer[:PAGE_SIZE][::-1], True, True
        # Back at the start: the first page, full, rather than a short page of the newest rows.
        before = None
    elif before is not None:
        at, pk = before
        rows = rows.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk))
    older = list(rows.order_by("-created_at", "-id")[: PAGE_SIZE + 1])
    return older[:PAGE_SIZE], before is not None, len(older) > PAGE_SIZE


@login_required
def message_list(request: HttpRequest) -> HttpResponse:
    before = _cursor_from(request.GET.get("before", ""))
    after = None if before else _cursor_from(request.GET.get("after", ""))
    items, has_newer, has_older = _message_page(Message.objects.owned_by(request.user), before=before, after=after)
    counts = Recipient.objects.counts_by_message([m.pk for m in items])
    for m in items:
        m.recipient_count = counts.get(m.pk, 0)
    context = {
        "items": items,
        "newer_cursor": _cursor_of(items[0]) if has_newer and items else "",
        "older_cursor": _cursor_of(items[-1]) if has_older else "",
    }
    return render(request, "messaging/message_list.html", context)


def _apply_errors(exc: ValidationError, form, formset) -> None:
    rows = formset.recipient_forms()  # recipients[i] is the i-th filled row, skipping deleted ones
    rest = {}
    for key, errors in exc.message_dict.items():
        if key.startswith("recipients["):
            index = int(key[len("recipients[") : key.index("]")])
            if index < len(rows):
                rows[index].add_error(key.rsplit(".", 1)[-1], errors)
                continue
        rest[key] = errors
    if rest:
        add_service_errors(form, ValidationError(rest))


@login_required
@writer_required
def message_create(request: HttpRequest) -> HttpResponse:
    form = MessageForm(request.POST or None)
    formset = RecipientFormSet(request.POST or None, prefix="recipients")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            message, key = services.message_create(
                owner=request.user, recipients=formset.recipients(), **form.service_kwargs()
            )
        except ValidationError as exc:
            _apply_errors(exc, form, formset)
        else:
            # The key is shown on this response only; it is stored as a hash.
            return render(request, "messaging/message_created.html", {"message": message, "revocation_key": key})
    context = {"form": form, "formset": formset, "creating": True, "projection_sentence": _new_projection(request)}
    return render(request, "messaging/message_form.html", context)


def _new_projection(request: HttpRequest) -> str:
    """The sentence for a new message on the standard schedule (the page's script follows the typing)."""
    now = timezone.now()
    banner = pauses.banner_for(request.user, now=now)
    begin = banner["all_until"] if banner and banner["all_until"] else now
    steps = ladder.seed_ladder(MessageForm.base_fields["initial_delay_months"].initial)
    return projection.for_new(steps=steps, names=[], start=begin, now=now)


@login_required
@writer_required
@reauth_required  # it changes who receives the message
def message_edit(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    if not message.is_editable:
        flash.error(request, _("Only a message that has not been delivered or revoked can be changed."))
        return redirect("messaging:message_detail", pk=pk)
    initial = {
        "title": message.title,
        # Sealed: the page's script opens the envelope with the passphrase and fills the text in.
        "content": "" if message.sealed else message.content,
        "sealed": message.sealed,
        "seal_hint": message.seal_hint,
        "seal_envelope": message.content if message.sealed else "",
        "initial_delay_months": message.initial_delay_months,
        "activity_resets": message.activity_resets,
        "contacts_from_level": message.contacts_from_level,
        **MessageForm.initial_for(message),
        "include_text_in_notice": message.include_text_in_notice,
        "attachments_keep_days": message.attachments_keep_days,
    }
    form = MessageForm(request.POST or None, initial=initial)
    formset = RecipientFormSet(
        request.POST or None,
        prefix="recipients",
        initial=list(message.recipients.values("name", "contact", "contact_type", "tell_named")),
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            services.message_update(message=message, recipients=formset.recipients(), **form.service_kwargs())
        except ValidationError as exc:
            _apply_errors(exc, form, formset)
        except StateError as exc:
            flash.error(request, str(exc))
            return redirect("messaging:message_detail", pk=pk)
        except Busy:
            flash.error(request, BUSY_TEXT)  # the form comes back as typed, to send again
        else:
            flash.success(request, _("Your message has been saved."))
            return redirect("messaging:message_detail", pk=pk)
    names = [row["name"] for row in formset.initial or []]
    context = {
        "form": form,
        "formset": formset,
        "message": message,
        "projection_sentence": projection.for_message(message, names=names),
    }
    return render(request, "messaging/message_form.html", context)


def _schedule(message: Message) -> list[ladder.Step]:
    if message.state != Message.State.ACTIVE:
        return []
    return ladder.schedule_from(
        level=message.warning_level, next_at=message.next_warning_date, ladder=ladder.ladder_of(message)
    )


@login_required
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    return _render_detail(request, message)


def _render_detail(request: HttpRequest, message: Message, *, revealed: Recipient | None = None) -> HttpResponse:
    recipients = list(message.recipients.select_related("delivery"))
    for recipient in recipients:
        # The secret only in the answer to the owner's POST, for the one recipient asked about.
        recipient.revealed_secret = revealed.webhook_secret if revealed and revealed.pk == recipient.pk else ""
    context = {
        "message": message,
        "recipients": recipients,
        "logs": message.status_logs.all(),
        "files": list(message.attachments.all()),
        "max_file_mb": settings.MESSAGING_ATTACHMENT_MAX_MB,
        "max_total_mb": settings.MESSAGING_ATTACHMENTS_MAX_MB,
        "schedule": _schedule(message),
        "total_days": ladder.total_days(message.initial_delay_months),
        "projection_sentence": projection.for_message(message, names=[r.name for r in recipients]),
        "ladder_label": dict(ladder.choices()).get(ladder.ladder_name(message), ""),
        "now_time": timezone.now(),
    }
    response = render(request, "messaging/message_detail.html", context)
    if revealed is not None:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@writer_required
@reauth_required(return_to=lambda request, pk, recipient_pk: reverse("messaging:message_detail", args=[pk]))
@require_POST
def recipient_secret(request: HttpRequest, pk: int, recipient_pk: int) -> HttpResponse:
    """POST ``do=show``: the page with this webhook recipient's signing secret; ``do=regenerate``: a new one."""
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    recipient = get_object_or_404(
        message.recipients.filter(contact_type=Recipient.ContactType.WEBHOOK), pk=recipient_pk
    )
    if request.POST.get("do") == "regenerate":
        try:
            webhook_secrets.recipient_secret_regenerate(recipient=recipient)
        except StateError as exc:
            flash.error(request, str(exc))
            return redirect("messaging:message_detail", pk=pk)
        except Busy:
            flash.error(request, BUSY_TEXT)
            return redirect("messaging:message_detail", pk=pk)
        flash.success(
            request, _("A new signing secret was made; the old one no longer verifies. Give this one to the recipient.")
        )
    return _render_detail(request, message, revealed=recipient)


@login_required
@writer_required
def message_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """GET: a confirmation page. POST: reset / continue / revoke."""
    if action not in ACTIONS:
        raise Http404
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    if request.method == "POST":
        return _answer(request, message, action)
    return render(request, "messaging/message_action.html", {"message": message, "action": action})


@login_required
@writer_required
def reset_all(request: HttpRequest) -> HttpResponse:
    """GET: a confirmation page. POST: reset every message still on its ladder."""
    active = Message.objects.owned_by(request.user).filter(state=Message.State.ACTIVE)
    if request.method == "POST":
        try:
            count = services.messages_reset_all(owner=request.user)
        except Busy:
            flash.error(request, BUSY_TEXT)
            return redirect("messaging:reset_all")
        flash.success(
            request,
            ngettext(
                "Thank you - %(count)d message starts its cycle again.",
                "Thank you - %(count)d messages start their cycles again.",
                count,
            )
            % {"count": count},
        )
        return redirect("messaging:message_list")
    return render(request, "messaging/reset_all.html", {"count": active.count()})


def _answer(request: HttpRequest, message: Message, action: str) -> HttpResponse:
    """Apply the owner's answer; say how it went on the message's page."""
    try:
        ACTIONS[action](message=message)
    except StateError as exc:
        flash.error(request, str(exc))
    except Busy:
        flash.error(request, BUSY_TEXT)
    else:
        flash.success(request, _done_text(action))
    return redirect("messaging:message_detail", pk=message.pk)


def _done_text(action: str) -> str:
    return {
        "reset": _("Thank you - the cycle starts again. Your next warning is far away."),
        "continue": _("Noted. The warning schedule goes on."),
        "revoke": _("Revoked. This message will never be delivered."),
    }[action]


def public_revoke(request: HttpRequest) -> HttpResponse:
    """Anyone holding the revocation key may revoke the message (rate-limited by address)."""
    form = RevokeByKeyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        # Per client address only: junk keys from one place never block the real key elsewhere.
        decision = ratelimit.reserve(
            [
                ratelimit.Bucket(
                    "revoke:address", ratelimit.request_address(request), ratelimit.Rate.of(settings.RATE_LIMIT_REVOKE)
                )
            ]
        )
        if not decision.allowed:
            form.is_valid()
            form.add_error(None, _("Too many attempts. Please wait a few minutes and try again."))
            page = render(request, "messaging/public_revoke.html", {"form": form})
            return ratelimit.limited_response(page, decision.retry_after)
        else:
            if form.is_valid():
                try:
                    message = services.message_revoke_by_key(key=form.cleaned_data["key"])
                except Busy:
                    form.add_error(None, BUSY_TEXT)
                    return render(request, "messaging/public_revoke.html", {"form": form}, status=503)
                if message is not None:
                    return render(request, "messaging/public_revoke.html", {"done": True})
                # A right key for a message no longer revocable gets a plain answer, not
                # "no such key": the holder must not fear a revoked message will still go out.
                known = services.message_find_by_key(key=form.cleaned_data["key"])
                if known is not None and known.state == Message.State.REVOKED:
                    return render(request, "messaging/public_revoke.html", {"done": True, "already": True})
                if known is not None and known.state == Message.State.DELIVERED:
                    form.add_error("key", _("This message has already been delivered; it can no longer be revoked."))
                else:
                    form.add_error("key", _("No message that can still be revoked has this key."))
                status = 400
            else:
                status = 400  # an empty or oversized key: the form says why
    return render(request, "messaging/public_revoke.html", {"form": form}, status=status)
