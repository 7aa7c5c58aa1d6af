"""The simulation's oracle catches what it is there to catch (synthetic observations, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.clock import NOW
from tests.messaging.sim.doubles import Accepted
from tests.messaging.sim.oracle import Oracle, stated_deadline

OWNER, RECIPIENT, HOOK = "o@owners.sim.test", "r@rcpt.sim.test", "https://hooks.sim.test/m0/r1v0"
LADDER = [3, 3, 2, 1, 1]


def _oracle() -> Oracle:
    oracle = Oracle(days_per_month=2, ladder_days=LADDER)
    oracle.created(pk=1, owner_email=OWNER, key="k", months=1, addresses={RECIPIENT, HOOK}, at=NOW, order=0)
    return oracle


def _warning(level: int, at, order: int) -> Accepted:
    subject = (
        "Cradle: final warning - please check in" if level == 5 else f"Cradle: warning {level} of 5 - please check in"
    )
    return Accepted("email", OWNER, subject, "see http://testserver/messages/1/", at, order)


def _ladder(oracle: Oracle, *, squeeze: int = 0) -> tuple:
    """Warnings 1..5 on time (``squeeze``: that level comes an hour early); returns (time, order) after the last."""
    at, order = NOW + timedelta(days=2), 10
    for level in range(1, 6):
        oracle.observe([_warning(level, at - timedelta(hours=1) if level == squeeze else at, order)])
        at, order = at + timedelta(days=LADDER[level - 1]), order + 10
    return at, order


def test_it_accepts_a_delivery_after_every_warning_and_interval():
    oracle = _oracle()
    at, order = _ladder(oracle)
    oracle.observe([Accepted("email", RECIPIENT, "m", "", at, order)])
    assert oracle.violations == []


def test_it_flags_a_warning_that_came_before_its_interval():
    oracle = _oracle()
    at, order = _ladder(oracle, squeeze=3)
    oracle.observe([Accepted("email", RECIPIENT, "m", "", at, order)])
    assert [v.promise for v in oracle.violations] == ["early"]


def test_it_flags_a_delivery_after_a_reset_without_the_warnings_of_the_new_cycle():
    oracle = _oracle()
    at, order = _ladder(oracle)
    oracle.answered(pk=1, how="api", kind="reset", acknowledged=True, at=at - timedelta(hours=2), order=order - 1)
    oracle.observe([Accepted("email", RECIPIENT, "m", "", at, order)])
    assert [v.promise for v in oracle.violations] == ["early"]


def test_it_flags_a_delivery_after_an_acknowledged_revoke():
    oracle = _oracle()
    at, order = _ladder(oracle)
    oracle.answered(pk=1, how="key", kind="revoke", acknowledged=True, at=at, order=order)
    oracle.observe([Accepted("email", RECIPIENT, "m", "", at, order + 1)])
    assert [v.promise for v in oracle.violations] == ["after"]


def test_it_excuses_a_repeat_only_when_the_first_copy_was_ambiguous_and_both_carry_one_delivery_id():
    oracle = _oracle()
    at, order = _ladder(oracle)
    oracle.observe([Accepted("webhook", HOOK, "", "", at, order, delivery_id="d1", ambiguous=True)])
    oracle.observe([Accepted("webhook", HOOK, "", "", at, order + 1, delivery_id="d1")])
    assert oracle.violations == []
    oracle.observe([Accepted("email", RECIPIENT, "m", "", at, order + 2)])
    oracle.observe([Accepted("email", RECIPIENT, "m", "", at, order + 3)])
    assert [v.promise for v in oracle.violations] == ["twice"]


def test_it_flags_a_message_never_delivered_or_left_delivering():
    oracle = _oracle()
    at, order = _ladder(oracle)
    oracle.observe([Accepted("email", RECIPIENT, "m", "", at, order)])
    snapshot = {
        1: {"state": "delivering", "warning_email_due_at": None, "deliveries": {RECIPIENT: "sent", HOOK: "failed"}}
    }
    oracle.final_check(snapshot=snapshot, health_strict=200)
    assert [v.promise for v in oracle.violations] == ["dropped"]
    oracle = _oracle()
    at, order = _ladder(oracle)
    oracle.observe([Accepted("email", RECIPIENT, "m", "", at, order), Accepted("webhook", HOOK, "", "", at, order + 1)])
    snapshot = {
        1: {"state": "delivering", "warning_email_due_at": None, "deliveries": {RECIPIENT: "sent", HOOK: "sent"}}
    }
    oracle.final_check(snapshot=snapshot, health_strict=200)
    assert [v.promise for v in oracle.violations] == ["stuck"]


def test_it_reads_the_deadline_a_warning_states_and_flags_one_before_the_real_step():
    body = "If you do not answer, the next step happens on Sept. 1, 2025, 4:37 p.m. (UTC).\nhttp://t/messages/1/"
    assert stated_deadline(body) == datetime(2025, 9, 1, 16, 37, tzinfo=UTC)
    assert stated_deadline(body.replace("Sept. 1, 2025, 4:37 p.m.", "March 10, 2025, noon")) == NOW
    oracle = _oracle()
    sent = datetime(2025, 8, 30, 16, 37, tzinfo=UTC)  # warning 2 of a 3-day interval: the step is Sept. 2
    oracle.observe([Accepted("email", OWNER, "Cradle: warning 2 of 5 - please check in", body, sent, 1)])
    assert [v.promise for v in oracle.violations] == ["deadline"]


def test_it_times_warning_1_from_the_shortest_delay_in_force_while_the_owner_waited():
    oracle = _oracle()  # created with 1 month: D = 2 days
    oracle.edited(pk=1, months=4, addresses={RECIPIENT, HOOK}, order=5)  # lengthened before the warning went out
    oracle.observe([_warning(1, NOW + timedelta(days=2), 10)])
    at, order = NOW + timedelta(days=2), 10
    for level in range(2, 6):
        at, order = at + timedelta(days=LADDER[level - 2]), order + 10
        oracle.observe([_warning(level, at, order)])
    oracle.observe([Accepted("email", RECIPIENT, "m", "", at + timedelta(days=LADDER[4]), order + 1)])
    assert oracle.violations == []


H = 3600
WELFARE = (24 * H, 6 * H, 6 * H, 12 * H)  # 3 warnings


def _welfare(oracle: Oracle, *, pk: int = 2, at=NOW, order: int = 100) -> None:
    oracle.created(
        pk=pk,
        owner_email=OWNER,
        key="k2",
        months=1,
        addresses={f"w{pk}@rcpt.sim.test"},
        at=at,
        order=order,
        ladder=WELFARE,
        ladder_name="welfare",
    )


def _warning_of(pk: int, level: int, count: int, at, order: int) -> Accepted:
    subject = (
        "Cradle: final warning - please check in"
        if level == count
        else f"Cradle: warning {level} of {count} - please check in"
    )
    return Accepted("email", OWNER, subject, f"see http://testserver/messages/{pk}/", at, order)


def _run_welfare(oracle: Oracle, start, order: int, *, first_at=None) -> tuple:
    """Warnings 1..3 of the welfare check on time (warning 1 at ``first_at``); returns (time, order) of delivery."""
    at = first_at or start + timedelta(seconds=WELFARE[0])
    for level in range(1, 4):
        oracle.observe([_warning_of(2, level, 3, at, order)])
        at, order = at + timedelta(seconds=WELFARE[level]), order + 10
    return at, order


def test_it_judges_a_message_by_its_own_ladder():
    oracle = Oracle(days_per_month=2, ladder_days=LADDER)
    _welfare(oracle)
    at, order = _run_welfare(oracle, NOW, 110)
    oracle.observe([Accepted("email", "w2@rcpt.sim.test", "m", "", at, order)])
    assert oracle.violations == []
    early = Oracle(days_per_month=2, ladder_days=LADDER)
    _welfare(early)
    at, order = _run_welfare(early, NOW, 110)
    early.observe([Accepted("email", "w2@rcpt.sim.test", "m", "", at - timedelta(hours=1), order)])
    assert [v.promise for v in early.violations] == ["early"]
    assert "history of message 2" in early.report() and "warning 3 of 3 accepted" in early.report()


def test_it_flags_a_warning_or_a_delivery_during_a_pause_in_force():
    oracle = Oracle(days_per_month=2, ladder_days=LADDER)
    _welfare(oracle)
    oracle.paused(pk=7, owner_email=OWNER, message=2, until=NOW + timedelta(days=3), at=NOW, order=105, covered={2})
    oracle.observe([_warning_of(2, 1, 3, NOW + timedelta(days=1), 110)])
    assert "pause" in {v.promise for v in oracle.violations}


def test_it_wants_the_whole_interval_after_a_pause_and_nothing_more():
    end = NOW + timedelta(hours=20)
    for first_at, expected in ((end + timedelta(hours=23), ["pause"]), (end + timedelta(hours=24), [])):
        oracle = Oracle(days_per_month=2, ladder_days=LADDER)
        _welfare(oracle)
        oracle.paused(
            pk=7, owner_email=OWNER, message=None, until=NOW + timedelta(days=3), at=NOW, order=105, covered={2}
        )
        oracle.pause_ended(pk=7, at=end, order=106)
        at, order = _run_welfare(oracle, NOW, 110, first_at=first_at)
        oracle.observe([Accepted("email", "w2@rcpt.sim.test", "m", "", at, order)])
        assert [v.promise for v in oracle.violations] == expected


def test_a_pause_of_all_messages_holds_one_written_during_it():
    oracle = Oracle(days_per_month=2, ladder_days=LADDER)
    oracle.paused(pk=7, owner_email=OWNER, message=None, until=NOW + timedelta(days=3), at=NOW, order=99, covered=set())
    _welfare(oracle, at=NOW + timedelta(hours=1))
    oracle.observe([_warning_of(2, 1, 3, NOW + timedelta(days=2), 110)])  # on its ladder, but in the pause
    assert [v.promise for v in oracle.violations] == ["pause"]
