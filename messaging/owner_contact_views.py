"""The Contacts page (``/messages/contacts/``): add, verify, remove and test the owner's warning contacts,
and the Telegram bot's webhook (``POST /telegram/webhook/<secret>``).

Every contact is looked up through ``get_owned_or_404``: another owner's contact is a 404.
Every change is a POST; adding or removing a contact asks for the password again after a
while (``reauth_required``), as a new way to be warned, or one less, is a change an attacker
holding a session would want to make quietly.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.reauth import reauth_required
from cradle_site import ratelimit
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from messaging import owner_contacts, owner_notify, telegram
from messaging.channels import ChannelError, sms_available
from messaging.escalation import account_failing
from messaging.forms_contacts import ContactAddForm, ContactCodeForm
from messaging.owner_contact_models import OwnerContact


def _page(request: HttpRequest, *, form=None, code_form=None, code_for=None, telegram_link="", status=200):
    contacts = list(OwnerContact.objects.owned_by(request.user).order_by("created_at", "id"))
    context = {
        "contacts": contacts,
        "form": form or ContactAddForm(),
        "code_form": code_form or ContactCodeForm(),
        "code_for": code_for,
        "telegram_link": telegram_link,
        "telegram_available": owner_contacts.telegram_available(),
        "sms_available": sms_available(),
        "account_failing": account_failing(request.user),
        "grace_days": settings.MESSAGING_UNREACHABLE_GRACE_DAYS,
        "contacts_max": owner_contacts.CONTACTS_MAX,
    }
    return render(request, "messaging/owner_contacts.html", context, status=status)


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@writer_required
@reauth_required(methods=("POST",))
@require_POST
def contact_add(request: HttpRequest) -> HttpResponse:
    form = ContactAddForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        contact, link = owner_contacts.contact_add(owner=request.user, **form.cleaned_data)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _page(request, form=form, status=400)
    if link:
        flash.success(request, _("Contact added. Open the Telegram link below to verify it."))
        return _page(request, telegram_link=link)
    flash.success(request, _("Contact added. We sent it a code: enter it below to verify it."))
    return redirect("messaging:owner_contacts")


def _contact(request: HttpRequest, pk: int) -> OwnerContact:
    return get_owned_or_404(OwnerContact.objects.all(), request.user, pk=pk)


@login_required
@writer_required
@require_POST
def contact_verify(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    form = ContactCodeForm(request.POST)
    if not form.is_valid():
        return _page(request, code_form=form, code_for=contact.pk, status=400)
    try:
        owner_contacts.contact_verify(contact=contact, code=form.cleaned_data["code"])
    except owner_contacts.TooManyAttempts as exc:
        form.add_error("code", str(exc))
        return ratelimit.limited_response(
            _page(request, code_form=form, code_for=contact.pk, status=429), exc.retry_after
        )
    except ValidationError as exc:
        form.add_error("code", exc.message_dict.get("code", exc.messages))
        return _page(request, code_form=form, code_for=contact.pk, status=400)
    flash.success(request, _("Contact verified: it will receive your warnings."))
    return redirect("messaging:owner_contacts")


@login_required
@writer_required
@require_POST
def contact_resend(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    if contact.kind == OwnerContact.Kind.TELEGRAM and not contact.is_verified:
        return _page(request, telegram_link=owner_contacts.telegram_token_new(contact))
    try:
        owner_contacts.contact_send_code(contact=contact)
    except owner_contacts.TooManyAttempts as exc:
        flash.error(request, str(exc))
        return ratelimit.limited_response(redirect("messaging:owner_contacts"), exc.retry_after)
    except ChannelError:
        flash.error(request, _("The code could not be sent to this contact. Check the address, or try again later."))
    else:
        flash.success(request, _("A new code is on its way."))
    return redirect("messaging:owner_contacts")


@login_required
@writer_required
@reauth_required(methods=("POST",))
@require_POST
def contact_remove(request: HttpRequest, pk: int) -> HttpResponse:
    owner_contacts.contact_remove(contact=_contact(request, pk))
    flash.success(request, _("Contact removed: it receives no more warnings."))
    return redirect("messaging:owner_contacts")


@login_required
@writer_required
@require_POST
def contact_level(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    try:
        owner_contacts.contact_update(contact=contact, first_level=request.POST.get("first_level"))
    except ValidationError as exc:
        flash.error(request, exc.messages[0])
    else:
        flash.success(request, _("Saved."))
    return redirect("messaging:owner_contacts")


@login_required
@writer_required
@require_POST
def test_warning(request: HttpRequest) -> HttpResponse:
    try:
        result = owner_notify.warning_test_send(owner=request.user)
    except owner_contacts.TooManyAttempts as exc:
        flash.error(request, str(exc))
        return ratelimit.limited_response(redirect("messaging:owner_contacts"), exc.retry_after)
    flash.success(
        request,
        _("Test warning sent: %(accepted)d of %(contacts)d contacts accepted it. Nothing else has changed.") % result,
    )
    return redirect("messaging:owner_contacts")


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest, secret: str) -> HttpResponse:
    """Telegram's updates for the bot: ``/start <token>`` verifies the contact the token is for.

    Always 200 with ``{"ok": true}`` for a well-formed call (Telegram retries anything else),
    whatever the update says: the answer tells a caller nothing about tokens.
    """
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    header = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
    if not expected or not constant_time_compare(secret, expected) or (header is not None and header != expected):
        return HttpResponse(status=404)
    try:
        update = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"ok": False}, status=400)
    found = telegram.start_token(update)
    if found is not None:
        token, chat_id = found
        contact = owner_contacts.contact_verify_telegram(token=token, chat_id=chat_id)
        if contact is not None:
            try:
                telegram.send_message(chat_id=chat_id, text=_("Cradle: this chat now receives your warnings."))
            except ChannelError:
                pass  # verified either way; the confirmation is a courtesy
    return JsonResponse({"ok": True})
