"""``/messages/projection/``: the "what will happen" sentence for the message form as the owner types.

GET only, changes nothing, JSON ``{"sentence": ...}``; a schedule that cannot be read or is
refused answers ``{"sentence": "", "error": <the reason>}`` (200: the form shows it as it would
show the field's error). With ``message=<id>`` (one of the owner's, else 404) the projection is
from that message's cycle, as saving the form would keep it.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cradle_site.querysets import get_owned_or_404
from messaging import ladder, projection, services
from messaging.forms import parse_steps
from messaging.models import Message, Pause

NAMES_MAX = services.RECIPIENTS_MAX


def _steps(request: HttpRequest) -> ladder.Ladder:
    name = request.GET.get("ladder") or ladder.SEED
    seconds = None
    if name == ladder.CUSTOM:
        try:
            seconds = parse_steps(request.GET.get("ladder_steps", "")[:100], request.GET.get("ladder_unit", ""))
        except ValueError:
            raise ValidationError({"ladder_steps": _("Give numbers separated by commas, e.g. 2, 1, 1.")}) from None
    _preset, stored = ladder.resolve(name, seconds)
    if stored:
        return ladder.Ladder.from_seconds(stored)
    return ladder.seed_ladder(services.validate_delay(request.GET.get("initial_delay_months")))


@login_required
@require_GET
def projection_view(request: HttpRequest) -> JsonResponse:
    names = [n[: services.RECIPIENT_NAME_MAX_LENGTH] for n in request.GET.getlist("names")[:NAMES_MAX]]
    now = timezone.now()
    raw = request.GET.get("message", "")
    message = get_owned_or_404(Message.objects, request.user, pk=int(raw)) if raw.isdigit() else None
    try:
        steps = _steps(request)
    except ValidationError as exc:
        return JsonResponse({"sentence": "", "error": " ".join(m for ms in exc.message_dict.values() for m in ms)})
    start = now
    if message is not None:
        if message.warning_level > 0:
            # The schedule under way keeps its dates (a new one applies from the next reset).
            return JsonResponse({"sentence": projection.for_message(message, names=names, now=now)})
        start = max(message.cycle_started_at, now - steps.first)
        if message.paused_until and message.paused_until > now:
            start = max(start, message.paused_until)
    else:
        paused = Pause.objects.owned_by(request.user).in_force(now).filter(message__isnull=True)
        until = paused.order_by("-until").values_list("until", flat=True).first()
        if until is not None:
            start = until
    return JsonResponse({"sentence": projection.for_new(steps=steps, names=names, start=start, now=now)})
