"""Trusted contacts' pages: the owner's list (``/messages/trusted/``) and each contact's own page (``/t/<token>/``).

The owner's pages need a log-in and the write role for every POST; each contact, request and
message is found through ``get_owned_or_404``, so another owner's id is a 404. Naming a contact
asks for the password again after a while (``reauth_required``): a trusted contact can have the
messages delivered early, which an attacker holding a session would want to set up quietly.

The contact's page needs no log-in: the token in its URL is the authority, for that one
contact only. Opening it (GET) changes nothing; "Confirm", "Request access" and "Pause the
warnings" are POSTs. It shows the owner's name, the waiting period and where the contact's
request stands, never a message's title, text or recipients. Unknown tokens count in the
per-address rate limit, as check-in links do.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.reauth import reauth_required
from cradle_site import ratelimit
from cradle_site.errors import Busy, StateError
from cradle_site.form_errors import add_service_errors
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from messaging import trusted
from messaging.checkin_views import _private  # the token pages' one set of headers
from messaging.models import AccessRequest, Message, TrustedAccess, TrustedContact
from messaging.trusted_models import WAIT_DAYS_MAX, WAIT_DAYS_MIN
from messaging.views import BUSY_TEXT

REQUESTS_SHOWN = 20  # the newest decided requests under the pending ones (each contact has at most one pending)


class TrustedContactForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=trusted.NAME_MAX)
    email = forms.EmailField(label=gettext_lazy("E-mail address"))
    wait_days = forms.IntegerField(
        label=gettext_lazy("Waiting period (days)"),
        min_value=WAIT_DAYS_MIN,
        max_value=WAIT_DAYS_MAX,
        initial=7,
        help_text=gettext_lazy("How long you have to refuse a request before it is granted: 1 to 30 days."),
    )


class TrustedAccessForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("When a trusted contact asks"), choices=TrustedAccess.Mode.choices)


def _owner_page(request: HttpRequest, *, form: TrustedContactForm | None = None, status: int = 200) -> HttpResponse:
    contacts = list(TrustedContact.objects.owned_by(request.user).order_by("created_at", "id"))
    requests = AccessRequest.objects.owned_by(request.user).select_related("contact")
    context = {
        "contacts": contacts,
        "waiting": list(requests.pending().order_by("grant_at", "id")),
        "decided": list(
            requests.exclude(state=AccessRequest.State.PENDING).order_by("-requested_at", "-id")[:REQUESTS_SHOWN]
        ),
        "form": form or TrustedContactForm(),
        "contacts_max": trusted.TRUSTED_CONTACTS_MAX,
        "pause_days": settings.MESSAGING_TRUSTED_PAUSE_DAYS,
    }
    return render(request, "messaging/trusted_contacts.html", context, status=status)


@login_required
@writer_required
@reauth_required(methods=("POST",))
def trusted_contacts(request: HttpRequest) -> HttpResponse:
    """GET: the trusted contacts, pending requests (with "Refuse") and the form. POST: name one."""
    if request.method != "POST":
        return _owner_page(request)
    form = TrustedContactForm(request.POST)
    if form.is_valid():
        try:
            trusted.trusted_contact_add(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            flash.success(
                request, _("Added. We sent them an e-mail with the link to their page; it works once they confirm.")
            )
            return redirect("messaging:trusted_contacts")
    return _owner_page(request, form=form, status=400)


@login_required
@writer_required
@require_POST
def trusted_contact_remove(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_owned_or_404(TrustedContact.objects, request.user, pk=pk)
    trusted.trusted_contact_remove(contact=contact)
    flash.success(request, _("Removed. Their link no longer works, and a request of theirs that was waiting is gone."))
    return redirect("messaging:trusted_contacts")


@login_required
@writer_required
@require_POST
def access_refuse(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_owned_or_404(AccessRequest.objects.select_related("contact"), request.user, pk=pk)
    try:
        trusted.access_refuse(request=access)
    except StateError as exc:
        flash.error(request, str(exc))
    else:
        flash.success(request, _("Refused. Nothing is delivered for this request."))
    return redirect("messaging:trusted_contacts")


@login_required
@writer_required
def trusted_access(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what a granted request does for this message. POST: change it."""
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    form = TrustedAccessForm(request.POST or None, initial={"mode": trusted.mode_of(message)})
    if request.method == "POST" and form.is_valid():
        try:
            trusted.trusted_access_set(message=message, mode=form.cleaned_data["mode"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        except StateError as exc:
            flash.error(request, str(exc))
        else:
            flash.success(request, _("Saved."))
            return redirect("messaging:message_detail", pk=pk)
    context = {
        "form": form,
        "message": message,
        "verified_contacts": TrustedContact.objects.owned_by(request.user).verified().count(),
        "mode_label": TrustedAccess.Mode(trusted.mode_of(message)).label,
    }
    return render(request, "messaging/trusted_access.html", context)


# The contact's own page: the token is the authority.


def _bucket(request: HttpRequest) -> ratelimit.Bucket:
    return ratelimit.Bucket(
        "trusted:address", ratelimit.request_address(request), ratelimit.Rate.of(settings.RATE_LIMIT_CHECKIN)
    )


def _contact_or_page(request: HttpRequest, token: str) -> TrustedContact | HttpResponse:
    bucket = _bucket(request)
    if wait := ratelimit.limited([bucket]):
        page = render(request, "messaging/trusted_invalid.html", {"reason": "limited"})
        return _private(ratelimit.limited_response(page, wait))
    contact = trusted.contact_find(token)
    if contact is None:
        ratelimit.hit(bucket)
        return _private(render(request, "messaging/trusted_invalid.html", {"reason": "invalid"}, status=404))
    return contact


def _contact_page(request: HttpRequest, contact: TrustedContact, token: str, *, status: int = 200) -> HttpResponse:
    # Only what the contact may know: the owner's name, the wait, their own requests. No message.
    last = contact.requests.order_by("-requested_at", "-id").first()
    context = {
        "contact": contact,
        "owner_name": contact.owner.get_username(),
        "token": token,
        "last": last,
        "pause_days": settings.MESSAGING_TRUSTED_PAUSE_DAYS,
        "owner_time_zone": contact.owner.time_zone,
    }
    return _private(render(request, "messaging/trusted_page.html", context, status=status))


def trusted_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the contact's page. POST: "Confirm" (verifies the contact)."""
    found = _contact_or_page(request, token)
    if isinstance(found, HttpResponse):
        return found
    if request.method == "POST":
        if trusted.trusted_contact_verify(contact=found):
            flash.success(request, _("Thank you: your address is confirmed."))
        return _private(redirect("trusted_page", token=token))
    return _contact_page(request, found, token)


def _act(request: HttpRequest, token: str, act, done: str) -> HttpResponse:
    found = _contact_or_page(request, token)
    if isinstance(found, HttpResponse):
        return found
    try:
        act(found)
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    except StateError as exc:
        flash.error(request, str(exc))
    except Busy:
        flash.error(request, BUSY_TEXT)
    else:
        flash.success(request, done)
    return _private(redirect("trusted_page", token=token))


@require_POST
def trusted_request(request: HttpRequest, token: str) -> HttpResponse:
    return _act(
        request,
        token,
        lambda contact: trusted.access_request(contact=contact),
        _(
            "Your request is made. The owner has been told; unless they refuse, it is granted when the waiting period ends."
        ),
    )


@require_POST
def trusted_pause(request: HttpRequest, token: str) -> HttpResponse:
    return _act(
        request,
        token,
        lambda contact: trusted.trusted_pause(contact=contact),
        _("The warnings are paused. The owner has been told."),
    )
