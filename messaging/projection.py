"""Say what will happen: one plain sentence from a message's ladder, in the reader's language and time zone.

"If you don't answer, we warn you on March 1, March 31 and April 30 by e-mail; on May 9 Bob and
Carol receive this message." The dates are the ladder's projection (``messaging.ladder``): the
earliest each step can come, exact while the cluster runs. The message form asks for it as the
owner types (``projection_view``, called by ``messaging/projection.js``) and the message page
shows it for the message as it stands. Times are added when the ladder has a gap under a day
(a welfare check warns three times in one day).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from messaging import ladder
from messaging.ladder import Ladder, Step


def _joined(items: list[str]) -> str:
    """ "A, B and C" in English, "A、B和C" in Chinese."""
    if len(items) < 2:
        return "".join(items)
    # Translators: the separator between the items of a list ("A, B and C").
    head = _(", ").join(items[:-1])
    return _("%(items)s and %(last)s") % {"items": head, "last": items[-1]}


def _when(at: datetime, *, with_time: bool, now: datetime) -> str:
    local = timezone.localtime(at)
    text = formats.date_format(local, "MONTH_DAY_FORMAT")
    if local.year != timezone.localtime(now).year:
        text = _("%(month_day)s, %(year)s") % {"month_day": text, "year": local.year}
    if with_time:
        text = _("%(date)s at %(time)s") % {"date": text, "time": formats.time_format(local, "TIME_FORMAT")}
    return text


def sentence(*, steps: list[Step], names: list[str], with_time: bool, now: datetime | None = None) -> str:
    """The sentence for the remaining ``steps`` (the last one the delivery) and the recipients' ``names``."""
    now = now or timezone.now()
    warnings = [_when(s.at, with_time=with_time, now=now) for s in steps if not s.is_delivery]
    delivery = _when(steps[-1].at, with_time=with_time, now=now)
    names = [n.strip() for n in names if n and n.strip()]
    if names:
        who = ngettext(
            "on %(date)s %(names)s receives this message.",
            "on %(date)s %(names)s receive this message.",
            len(names),
        ) % {"date": delivery, "names": _joined(names)}
    else:
        who = _("on %(date)s your recipients receive this message.") % {"date": delivery}
    if not warnings:
        return _("If you don't answer the final warning, %(delivery)s") % {"delivery": who}
    return _("If you don't answer, we warn you on %(dates)s by e-mail; %(delivery)s") % {
        "dates": _joined(warnings),
        "delivery": who,
    }


def _needs_time(steps: Ladder) -> bool:
    return any(gap % timedelta(days=1) for gap in (steps.first, *steps.gaps))


def for_new(*, steps: Ladder, names: list[str], start: datetime, now: datetime | None = None) -> str:
    """A message written at ``start`` (now, or the end of a pause of every message) on ``steps``."""
    projected = ladder.schedule_from(level=0, next_at=start + steps.first, ladder=steps)
    return sentence(steps=projected, names=names, with_time=_needs_time(steps), now=now)


def for_message(message, *, names: list[str], now: datetime | None = None) -> str:
    """The sentence for a message on its ladder as it stands; empty once it is off it."""
    if not message.is_on_ladder:
        return ""
    steps = ladder.ladder_of(message)
    projected = ladder.schedule_from(level=message.warning_level, next_at=message.next_warning_date, ladder=steps)
    return sentence(steps=projected, names=names, with_time=_needs_time(steps), now=now)
