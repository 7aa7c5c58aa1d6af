"""The pages of "you are named" (``messaging.named``): the recipient's confirm page and the owner's re-send.

``/messages/named/<token>/`` needs no log-in: the token is the authority. A GET shows what it
is about and a button; only the POST confirms (a mail scanner that opens links confirms
nothing). An unknown token is a 404 counted in a per-address rate limit, as the delivery
page's. The owner's "send it again" is a POST on the message page.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cradle_site import ratelimit
from cradle_site.errors import Busy, StateError
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from messaging import named
from messaging.checkin_views import _private as private_page
from messaging.delivery_notice import sender_name
from messaging.models import Message
from messaging.views import BUSY_TEXT


def _bucket(request: HttpRequest) -> ratelimit.Bucket:
    return ratelimit.Bucket(
        "named:address", ratelimit.request_address(request), ratelimit.Rate.of(settings.RATE_LIMIT_DELIVERY_LINK)
    )


@require_http_methods(["GET", "POST"])
def named_confirm(request: HttpRequest, token: str) -> HttpResponse:
    bucket = _bucket(request)
    if wait := ratelimit.limited([bucket]):
        page = render(request, "messaging/named_confirm.html", {"outcome": "invalid"}, status=429)
        return private_page(ratelimit.limited_response(page, wait))
    notice = named.named_find(token)
    if notice is None:
        ratelimit.hit(bucket)
        return private_page(render(request, "messaging/named_confirm.html", {"outcome": "invalid"}, status=404))
    context = {"sender": sender_name(notice.message), "outcome": ""}
    if request.method == "POST":
        try:
            context["outcome"] = named.named_confirm(notice=notice)
        except Busy:
            flash.error(request, BUSY_TEXT)
    return private_page(render(request, "messaging/named_confirm.html", context))


@login_required
@writer_required
@require_POST
def named_resend(request: HttpRequest, pk: int, recipient_pk: int) -> HttpResponse:
    message = get_owned_or_404(Message.objects, request.user, pk=pk)
    recipient = get_object_or_404(message.recipients, pk=recipient_pk)
    try:
        named.named_notice_resend(recipient=recipient)
    except StateError as exc:
        flash.error(request, str(exc))
    except Busy:
        flash.error(request, BUSY_TEXT)
    else:
        flash.success(
            request,
            _("%(name)s will be asked again within a minute to confirm the address.") % {"name": recipient.name},
        )
    return redirect("messaging:message_detail", pk=pk)
