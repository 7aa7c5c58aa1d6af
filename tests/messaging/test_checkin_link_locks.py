"""Two answers through one check-in link at once, on MariaDB: one commits, the other is told the link is used.

The step is checked and spent under the message's row lock (``messaging.links.link_guard``),
so the second answer waits for the first and then sees its use. (The sweep skips a row an
answer holds, ``skip_locked``; a link whose level the sweep raised first is refused as out
of date: tests/messaging/test_checkin_link.py.)
"""

from __future__ import annotations

import threading

import pytest

from messaging import links, services
from messaging.models import CheckinLinkUse, Message, StatusLog
from tests.messaging.test_answer_locks import Side, _wait_for_a_lock_wait

pytestmark = [pytest.mark.mariadb_only, pytest.mark.django_db(transaction=True)]


def _holding(claim: links.LinkClaim, inside: threading.Event):
    """The link's guard, holding the row lock (after spending the step) until another connection waits."""
    real = links.link_guard(claim)

    def guard(locked: Message) -> None:
        real(locked)
        inside.set()
        _wait_for_a_lock_wait()

    return guard


@pytest.mark.parametrize("second", ["continue", "reset"])
def test_two_answers_through_one_link_commit_once(owner, make_message, second):
    message = make_message(owner, level=1)
    claim = links.checkin_read(links.checkin_token(message))
    inside = threading.Event()
    first = Side(
        lambda: services.message_continue(message=Message.objects.get(pk=message.pk), guard=_holding(claim, inside))
    )
    first.start()
    assert inside.wait(10)
    answer = services.message_continue if second == "continue" else services.message_reset
    other = Side(lambda: answer(message=Message.objects.get(pk=message.pk), guard=links.link_guard(claim)))
    other.start()
    first.join(20)
    other.join(20)
    assert first.error is None, first.error
    assert isinstance(other.error, links.StaleLink) and other.error.reason == "used"
    assert list(StatusLog.objects.values_list("status", flat=True)) == ["CONTINUED"]
    assert CheckinLinkUse.objects.count() == 1
    assert Message.objects.get(pk=message.pk).warning_level == 1
