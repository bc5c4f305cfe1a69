"""The drill decisions (access_control.muster) and the gate's release for a drill
(access_control.gate Release): exact outputs for exact inputs."""
from __future__ import annotations

import datetime as dt

import pytest

from access_control.gate import (
    FireAlarm,
    GateConfig,
    GateState,
    Grant,
    GrantCancelled,
    Led,
    Passage,
    PassageComplete,
    Release,
    Relock,
    Step,
    Unlock,
    step,
)
from access_control.muster import (
    Muster,
    accounted_at,
    board,
    checklist_from_plan,
    inside_areas,
    lane_released,
    mark_safe,
    roll_call,
    tick,
)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
GATE = GateConfig("gate-main")


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def run(events, config=GATE):
    s, out = GateState(), []
    for e in events:
        r = step(config, s, e)
        out.append(r)
        s = r.state
    return out


def test_release_opens_both_directions_without_a_fire_alarm_and_ending_it_relocks():
    steps = run([Grant(0.0, "entry", "p-1"), Release(1.0, True), PassageComplete(2.0, "exit"),
                 Release(3.0, False)])
    assert steps[1] == Step(GateState(mode="fail_safe_open", clock=1.0, released=True),
                            (Unlock("both", None), Led("amber")), (),
                            (GrantCancelled("gate-main", "entry", "p-1", "released"),))
    assert steps[2].events == (Passage("gate-main", "exit", None, "fail_safe"),) and steps[2].alarms == ()
    assert steps[3] == Step(GateState(mode="locked", clock=3.0), (Relock("both"), Led("red")), (), ())


def test_ending_a_release_leaves_the_gate_open_while_the_fire_input_holds_it():
    steps = run([Release(0.0, True), FireAlarm(1.0, True), Release(2.0, False), FireAlarm(3.0, False)])
    assert steps[1].commands == ()  # already open
    assert steps[2].commands == () and steps[2].state.mode == "fail_safe_open"
    assert steps[3].commands == (Relock("both"), Led("red")) and steps[3].state.mode == "locked"


def test_a_repeated_release_changes_nothing():
    steps = run([Release(0.0, True), Release(1.0, True), Release(2.0, False), Release(3.0, False)])
    assert steps[1].commands == () and steps[3].commands == ()


def test_roll_call_takes_who_is_in_an_inside_area():
    inside = inside_areas([("floor3", "outside"), ("floor3", "outside"), ("lab", "floor3")])
    assert inside == {"floor3", "lab"}
    roll = roll_call([("p-1", "floor3"), ("p-2", "outside"), ("p-3", "lab")], inside)
    assert roll == {"p-1": "floor3", "p-3": "lab"}


def test_muster_board_counts_inside_safe_and_missing_by_area_and_time_to_account():
    m = Muster(T0, {"p-1": "floor3", "p-2": "floor3", "p-3": "lab"})
    assert accounted_at(m) is None and m.missing == {"p-1", "p-2", "p-3"}
    m, changed = mark_safe(m, "p-2", at(40), "badge", "gate-main")
    assert changed
    m, changed = mark_safe(m, "p-2", at(50), "officer", "off")  # the first mark counts
    assert not changed and m.safe["p-2"].at == at(40)
    m, changed = mark_safe(m, "p-9", at(55), "officer", "off")  # not inside when it began
    assert not changed and "p-9" not in m.safe
    b = board(m, {"p-1": "Li Lei", "p-2": "Han Meimei"})
    assert b["counts"] == {"inside": 3, "safe": 1, "missing": 2}
    assert [w["name"] for w in b["areas"]["floor3"]["missing"]] == ["Li Lei"]
    assert b["areas"]["floor3"]["safe"] == [{"person": "p-2", "name": "Han Meimei", "at": at(40).isoformat(),
                                             "how": "badge", "where": "gate-main"}]
    assert [w["person"] for w in b["areas"]["lab"]["missing"]] == ["p-3"]
    assert b["accounted_s"] is None
    m, _ = mark_safe(m, "p-3", at(90), "officer", "off")
    m, _ = mark_safe(m, "p-1", at(75), "badge", "gate-side")
    assert accounted_at(m) == at(90)
    assert board(m)["accounted_s"] == 90.0 and board(m)["counts"]["missing"] == 0


def test_an_empty_roll_is_accounted_for_at_the_start_and_a_mark_before_it_counts_at_it():
    assert accounted_at(Muster(T0)) == T0
    m, _ = mark_safe(Muster(T0, {"p-1": "floor3"}), "p-1", at(-5), "badge", "gate-main")
    assert m.safe["p-1"].at == T0 and board(m)["accounted_s"] == 0.0


def test_marks_need_aware_times_and_a_known_way():
    m = Muster(T0, {"p-1": "floor3"})
    with pytest.raises(ValueError):
        mark_safe(m, "p-1", dt.datetime(2026, 3, 2, 9, 1), "badge", "gate-main")
    with pytest.raises(ValueError):
        mark_safe(m, "p-1", at(1), "carrier pigeon", "x")  # type: ignore[arg-type]


def test_a_lane_keeps_its_first_release_time():
    lanes = lane_released({}, "gate-main", "released_at", "t1")
    lanes = lane_released(lanes, "gate-main", "released_at", "t2")
    lanes = lane_released(lanes, "gate-main", "relocked_at", "t3")
    assert lanes == {"gate-main": {"released_at": "t1", "relocked_at": "t3"}}


def test_checklist_ticks_and_unticks_and_refuses_an_unknown_item():
    items = checklist_from_plan([{"id": "alarm", "text": {"en": "Alarm", "zh_CN": "报警"}}])
    assert items == [{"id": "alarm", "text": {"en": "Alarm", "zh_CN": "报警"}, "done": False, "by": None, "at": None}]
    ticked = tick(items, "alarm", True, "off", at(10))
    assert ticked[0] | {} == {**items[0], "done": True, "by": "off", "at": at(10).isoformat()}
    assert items[0]["done"] is False  # the input is not changed
    assert tick(ticked, "alarm", False, "off", at(20))[0]["done"] is False
    with pytest.raises(ValueError):
        tick(items, "nope", True, "off", at(10))
