"""The recipient's delivery page: ``/d/<token>/`` shows the message and its files, no log-in.

The token names one recipient's delivery (``messaging.delivery_links``). The page, each file
(``/d/<token>/files/<id>/``, only files of that message) and the renewal all look the link up
first; an unknown token is a 404 that counts in a per-address rate limit
(``RATE_LIMIT_DELIVERY_LINK``), a revoked message's page is the same 404. An expired or
replaced link gets a 410 page that says what happened and offers "send me a new link", a POST
that sends it to the recipient's own address (nothing on the form says where: no address is
ever typed in). The page's queries are the same however many files there are.

The message text sits in its own element (``#message-text``) and the files in a list of
download links: the place a sealed message's in-browser decryption will take over.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from cradle_site import ratelimit
from messaging import attachments, delivery_links
from messaging.channels import ChannelError
from messaging.checkin_views import _private as private_page
from messaging.delivery_links import RenewOutcome
from messaging.models import Attachment


def _bucket(request: HttpRequest) -> ratelimit.Bucket:
    return ratelimit.Bucket(
        "delivery:address", ratelimit.request_address(request), ratelimit.Rate.of(settings.RATE_LIMIT_DELIVERY_LINK)
    )


def _find(request: HttpRequest, token: str) -> delivery_links.FoundLink | HttpResponse:
    bucket = _bucket(request)
    if wait := ratelimit.limited([bucket]):
        page = render(request, "messaging/delivery_invalid.html", {"limited": True}, status=429)
        return private_page(ratelimit.limited_response(page, wait))
    found = delivery_links.link_find(token)
    if found is None:
        ratelimit.hit(bucket)
        return private_page(render(request, "messaging/delivery_invalid.html", {}, status=404))
    return found


def _closed(request: HttpRequest, found: delivery_links.FoundLink, token: str, **extra) -> HttpResponse:
    context = {"state": found.state, "token": token, "sender": _sender(found), **extra}
    return private_page(render(request, "messaging/delivery_closed.html", context, status=410))


def _sender(found: delivery_links.FoundLink) -> str:
    owner = found.message.owner
    return owner.get_full_name() or owner.username


@require_GET
def delivery_page(request: HttpRequest, token: str) -> HttpResponse:
    found = _find(request, token)
    if isinstance(found, HttpResponse):
        return found
    if found.state != delivery_links.LinkState.OPEN:
        return _closed(request, found, token)
    delivery_links.link_opened(found)
    context = {
        "message": found.message,
        "recipient": found.delivery.recipient,
        "sender": _sender(found),
        "files": list(found.message.attachments.all()),
        "token": token,
        "expires_at": found.link.expires_at,
    }
    return private_page(render(request, "messaging/delivery_page.html", context))


@require_GET
def delivery_file(request: HttpRequest, token: str, attachment_id: int) -> HttpResponse:
    found = _find(request, token)
    if isinstance(found, HttpResponse):
        return found
    if found.state != delivery_links.LinkState.OPEN:
        return _closed(request, found, token)
    # Only a file of this link's message: an id from another message is a 404 like any other.
    attachment = Attachment.objects.filter(pk=attachment_id, message_id=found.message.pk).first()
    if attachment is None:
        raise Http404
    return private_page(attachments.attachment_response(attachment))


@require_POST
def delivery_renew(request: HttpRequest, token: str) -> HttpResponse:
    found = _find(request, token)
    if isinstance(found, HttpResponse):
        return found
    try:
        delivery_links.link_renew(found)
    except delivery_links.RenewRefused as exc:
        if exc.reason == RenewOutcome.OPEN:
            context = {"outcome": RenewOutcome.OPEN, "token": token}
            return private_page(render(request, "messaging/delivery_renewed.html", context))
        return _closed(request, found, token, outcome=exc.reason)
    except ChannelError:
        return _closed(request, found, token, outcome=RenewOutcome.FAILED)
    return private_page(render(request, "messaging/delivery_renewed.html", {"outcome": RenewOutcome.SENT}))
