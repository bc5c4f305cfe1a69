"""The gate state machine: exact commands, alarms and log events per scenario, plus invariants."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from access_control.alarms import Alarm
from access_control.gate import (
    AlarmCleared,
    AlarmOutput,
    BeamCount,
    Buzzer,
    Deny,
    FireAlarm,
    GateConfig,
    GateState,
    Grant,
    GrantCancelled,
    GrantedNoEntry,
    GrantRefused,
    LeafClosed,
    LeafOpen,
    Led,
    Passage,
    PassageComplete,
    PendingGrant,
    Power,
    Relock,
    Step,
    Tamper,
    Tick,
    Unlock,
    Withdraw,
    step,
)

SECURE = GateConfig("gate-main", open_seconds=5.0, held_grace_s=10.0, fail_mode="secure")
SAFE = replace(SECURE, fail_mode="safe")

UNLOCK_ENTRY = (Unlock("entry", 5.0), Led("green", 5.0), Buzzer("short"))
RELOCK_ENTRY = (Relock("entry"), Led("red"))
DENY = (Led("red", 2.0, flash=True), Buzzer("deny"))


def run(config, events, state=None):
    state = state or GateState()
    steps = []
    for event in events:
        result = step(config, state, event)
        steps.append(result)
        state = result.state
    return steps


def last(config, events):
    return run(config, events)[-1].state


def test_starts_locked():
    assert GateState().mode == "locked"
    assert GateState().unlocked_direction is None


def test_normal_entry_one_passage_then_relock():
    g, p = run(SECURE, [Grant(10.0, "entry", "p-003"), PassageComplete(12.0, "entry")])
    assert g == Step(
        GateState(mode="unlocked", clock=10.0, grant=PendingGrant("entry", "p-003", 15.0)), UNLOCK_ENTRY, (), ()
    )
    assert g.state.unlocked_direction == "entry"
    assert p == Step(
        GateState(mode="locked", clock=12.0), RELOCK_ENTRY, (), (Passage("gate-main", "entry", "p-003", "grant"),)
    )


def test_normal_exit():
    g, p = run(SECURE, [Grant(0.0, "exit", "p-003"), PassageComplete(1.0, "exit")])
    assert g.commands == (Unlock("exit", 5.0), Led("green", 5.0), Buzzer("short"))
    assert p.commands == (Relock("exit"), Led("red"))
    assert p.events == (Passage("gate-main", "exit", "p-003", "grant"),)


def test_tailgater_on_one_grant_is_a_forced_passage():
    steps = run(SECURE, [Grant(0.0, "entry", "p-003"), PassageComplete(1.0, "entry"), PassageComplete(1.5, "entry")])
    assert steps[1].events == (Passage("gate-main", "entry", "p-003", "grant"),)
    assert steps[2] == Step(
        GateState(mode="locked", clock=1.5),
        (AlarmOutput(True, 10.0),),
        (Alarm("door_forced", "gate-main", direction="entry", detail="passage without grant"),),
        (Passage("gate-main", "entry", None, "forced"),),
    )


def test_two_bodies_in_the_lane_cancel_the_grant():
    steps = run(SECURE, [Grant(0.0, "entry", "p-003"), BeamCount(1.0, 1), BeamCount(1.2, 2)])
    assert steps[1] == Step(replace(steps[0].state, clock=1.0))  # one body: the granted person
    assert steps[2] == Step(
        GateState(mode="locked", clock=1.2),
        (Relock("entry"), Led("red"), Buzzer("alarm"), AlarmOutput(True, 10.0)),
        (Alarm("tailgating", "gate-main", person_id="p-003", direction="entry", count=2, expected=1, detail="lane"),),
        (GrantCancelled("gate-main", "entry", "p-003", "tailgating"),),
    )
    # Whoever pushes through now is forced.
    assert step(SECURE, steps[2].state, PassageComplete(1.4, "entry")).alarms[0].kind == "door_forced"


def test_withdrawn_grant_relocks_and_the_next_passage_is_forced():
    steps = run(SECURE, [Grant(0.0, "entry", "p-004"), Withdraw(1.0, "p-004"), PassageComplete(1.5, "entry")])
    assert steps[1] == Step(
        GateState(mode="locked", clock=1.0),
        RELOCK_ENTRY,
        (),
        (GrantCancelled("gate-main", "entry", "p-004", "passed_elsewhere"),),
    )
    assert steps[2].events == (Passage("gate-main", "entry", None, "forced"),)


def test_withdraw_leaves_someone_elses_grant_alone():
    g, w = run(SECURE, [Grant(0.0, "entry", "p-003"), Withdraw(1.0, "p-004")])
    assert w == Step(replace(g.state, clock=1.0))


def test_beams_without_grant_are_not_an_alarm_by_themselves():
    assert step(SECURE, GateState(), BeamCount(1.0, 3)) == Step(GateState(clock=1.0))


def test_forced_passage_without_grant():
    s = step(SECURE, GateState(), PassageComplete(3.0, "exit"))
    assert s == Step(
        GateState(clock=3.0),
        (AlarmOutput(True, 10.0),),
        (Alarm("door_forced", "gate-main", direction="exit", detail="passage without grant"),),
        (Passage("gate-main", "exit", None, "forced"),),
    )


def test_passage_the_wrong_way_during_a_grant_is_forced_and_keeps_the_grant():
    g, p = run(SECURE, [Grant(0.0, "entry", "p-003"), PassageComplete(1.0, "exit")])
    assert p.events == (Passage("gate-main", "exit", None, "forced"),)
    assert p.state.grant == PendingGrant("entry", "p-003", 5.0)


def test_forced_leaf_until_closed():
    o, c = run(SECURE, [LeafOpen(1.0), LeafClosed(30.0)])
    assert o == Step(
        GateState(mode="forced", clock=1.0, leaf_open=True, forced=True),
        (AlarmOutput(True), Buzzer("alarm")),
        (Alarm("door_forced", "gate-main", detail="leaf opened without grant"),),
        (),
    )
    # A forced opening never turns into door_held as well.
    assert step(SECURE, o.state, Tick(100.0)) == Step(replace(o.state, clock=100.0))
    assert c == Step(
        GateState(mode="locked", clock=30.0),
        (AlarmOutput(False), Buzzer("off")),
        (),
        (AlarmCleared("gate-main", "door_forced"),),
    )


def test_forced_leaf_and_the_passage_through_it_are_one_alarm():
    o, p, c, again = run(SECURE, [LeafOpen(1.0), PassageComplete(1.3, "entry"), LeafClosed(1.6),
                                  PassageComplete(9.0, "entry")])
    assert [a.kind for step_ in (o, p, c) for a in step_.alarms] == ["door_forced"]
    assert p.events == (Passage("gate-main", "entry", None, "forced"),)
    # Once the leaf is closed, a new passage without a grant is a new intrusion.
    assert [a.kind for a in again.alarms] == ["door_forced"]


def test_gate_held_open():
    steps = run(
        SECURE,
        [
            Grant(0.0, "entry", "p-003"),
            LeafOpen(1.0),
            PassageComplete(2.0, "entry"),
            Tick(15.9),
            Tick(16.0),
            LeafClosed(40.0),
        ],
    )
    assert steps[1].state.mode == "passing"
    assert steps[2].state == GateState(mode="passing", clock=2.0, leaf_open=True, held_at=16.0)
    assert steps[3] == Step(replace(steps[2].state, clock=15.9))
    assert steps[4] == Step(
        GateState(mode="held_open", clock=16.0, leaf_open=True, held_at=16.0, held=True),
        (AlarmOutput(True), Buzzer("alarm")),
        (Alarm("door_held", "gate-main", detail="leaf left open"),),
        (),
    )
    assert steps[5] == Step(
        GateState(mode="locked", clock=40.0),
        (AlarmOutput(False), Buzzer("off")),
        (),
        (AlarmCleared("gate-main", "door_held"),),
    )


def test_held_open_before_passage_names_the_person():
    steps = run(SECURE, [Grant(0.0, "entry", "p-003"), LeafOpen(0.5), Tick(5.0), Tick(15.5)])
    assert steps[2] == Step(
        GateState(
            mode="passing",
            clock=5.0,
            grant=PendingGrant("entry", "p-003", 5.0, unlocked=False),
            leaf_open=True,
            held_at=15.5,
        ),
        RELOCK_ENTRY,
    )
    assert steps[3].alarms == (Alarm("door_held", "gate-main", person_id="p-003", detail="leaf left open"),)


def test_granted_but_no_entry():
    steps = run(SECURE, [Grant(0.0, "entry", "p-003"), Tick(4.9), Tick(5.0), PassageComplete(5.5, "entry")])
    assert steps[1] == Step(replace(steps[0].state, clock=4.9))
    assert steps[2] == Step(
        GateState(mode="locked", clock=5.0), RELOCK_ENTRY, (), (GrantedNoEntry("gate-main", "entry", "p-003"),)
    )
    assert steps[3].events == (Passage("gate-main", "entry", None, "forced"),)


def test_late_event_applies_the_missed_timeout_first():
    # No tick arrived at the deadline: the passage at 6 s must not use the grant.
    steps = run(SECURE, [Grant(0.0, "entry", "p-003"), PassageComplete(6.0, "entry")])
    assert steps[1] == Step(
        GateState(mode="locked", clock=6.0),
        (*RELOCK_ENTRY, AlarmOutput(True, 10.0)),
        (Alarm("door_forced", "gate-main", direction="entry", detail="passage without grant"),),
        (GrantedNoEntry("gate-main", "entry", "p-003"), Passage("gate-main", "entry", None, "forced")),
    )


def test_person_in_the_lane_at_the_deadline_may_finish():
    steps = run(
        SECURE, [Grant(0.0, "entry", "p-3"), LeafOpen(4.0), Tick(5.0), PassageComplete(6.0, "entry"), LeafClosed(7.0)]
    )
    assert steps[2].commands == RELOCK_ENTRY
    assert steps[2].state.unlocked_direction is None
    assert steps[3] == Step(
        GateState(mode="passing", clock=6.0, leaf_open=True, held_at=19.0),
        (),
        (),
        (Passage("gate-main", "entry", "p-3", "grant"),),
    )
    assert steps[4] == Step(GateState(clock=7.0))


def test_leaf_closed_after_deadline_without_passage():
    steps = run(SECURE, [Grant(0.0, "entry", "p-3"), LeafOpen(1.0), Tick(6.0), LeafClosed(7.0)])
    assert steps[3] == Step(GateState(clock=7.0), (), (), (GrantedNoEntry("gate-main", "entry", "p-3"),))


def test_leaf_opened_and_closed_before_deadline_keeps_the_grant():
    steps = run(SECURE, [Grant(0.0, "entry", "p-3"), LeafOpen(1.0), LeafClosed(2.0), PassageComplete(3.0, "entry")])
    assert steps[2].state.mode == "unlocked"
    assert steps[3].events == (Passage("gate-main", "entry", "p-3", "grant"),)


def test_second_grant_while_busy_is_refused():
    steps = run(SECURE, [Grant(0.0, "entry", "p-3"), Grant(1.0, "entry", "p-4")])
    assert steps[1] == Step(
        replace(steps[0].state, clock=1.0), DENY, (), (GrantRefused("gate-main", "entry", "p-4", "busy"),)
    )


def test_grant_refused_while_leaf_stands_open():
    steps = run(SECURE, [LeafOpen(0.0), Grant(1.0, "entry", "p-4")])
    assert steps[1].events == (GrantRefused("gate-main", "entry", "p-4", "leaf_open"),)
    assert steps[1].commands == DENY


def test_deny_feedback_and_tamper():
    assert step(SECURE, GateState(), Deny(1.0, "unknown_card")) == Step(GateState(clock=1.0), DENY)
    assert step(SECURE, GateState(), Tamper(1.0)) == Step(
        GateState(clock=1.0), (), (Alarm("tamper", "gate-main", detail="reader or cabinet tamper switch"),)
    )


def test_power_loss_fail_safe_opens_both_ways():
    steps = run(
        SAFE,
        [
            Grant(0.0, "entry", "p-3"),
            Power(1.0, False),
            PassageComplete(2.0, "exit"),
            Grant(3.0, "entry", "p-4"),
            Power(10.0, True),
        ],
    )
    assert steps[1] == Step(
        GateState(mode="fail_safe_open", clock=1.0, power=False),
        (Unlock("both", None), Led("amber")),
        (Alarm("power_lost", "gate-main", detail="fail-safe: both directions open"),),
        (GrantCancelled("gate-main", "entry", "p-3", "power_lost"),),
    )
    assert steps[1].state.unlocked_direction == "both"
    assert steps[2] == Step(
        GateState(mode="fail_safe_open", clock=2.0, power=False),
        (),
        (),
        (Passage("gate-main", "exit", None, "fail_safe"),),
    )
    assert steps[3].events == (GrantRefused("gate-main", "entry", "p-4", "fail_safe_open"),)
    assert steps[3].commands == ()
    assert steps[4] == Step(
        GateState(mode="locked", clock=10.0),
        (Relock("both"), Led("red")),
        (),
        (AlarmCleared("gate-main", "power_lost"),),
    )


def test_power_loss_fail_secure_stays_locked():
    steps = run(
        SECURE,
        [
            Grant(0.0, "entry", "p-3"),
            Power(1.0, False),
            PassageComplete(2.0, "entry"),
            Grant(3.0, "entry", "p-4"),
            Power(10.0, True),
        ],
    )
    assert steps[1] == Step(
        GateState(mode="locked", clock=1.0, power=False),
        RELOCK_ENTRY,
        (Alarm("power_lost", "gate-main", detail="fail-secure: locked"),),
        (GrantCancelled("gate-main", "entry", "p-3", "power_lost"),),
    )
    assert steps[2].events == (Passage("gate-main", "entry", None, "forced"),)
    assert steps[3].events == (GrantRefused("gate-main", "entry", "p-4", "power_lost"),)
    assert steps[4] == Step(GateState(mode="locked", clock=10.0), (), (), (AlarmCleared("gate-main", "power_lost"),))


@pytest.mark.parametrize("config", [SECURE, SAFE])
def test_fire_alarm_opens_both_directions_whatever_the_fail_mode(config):
    steps = run(
        config,
        [
            Grant(0.0, "entry", "p-3"),
            FireAlarm(1.0, True),
            PassageComplete(2.0, "exit"),
            PassageComplete(2.5, "exit"),
            FireAlarm(60.0, False),
        ],
    )
    assert steps[1] == Step(
        GateState(mode="fail_safe_open", clock=1.0, fire=True),
        (Unlock("both", None), Led("amber")),
        (Alarm("fire_alarm", "gate-main", detail="fire input: both directions open"),),
        (GrantCancelled("gate-main", "entry", "p-3", "fire_alarm"),),
    )
    assert [s.events for s in steps[2:4]] == [(Passage("gate-main", "exit", None, "fail_safe"),)] * 2
    assert all(s.alarms == () for s in steps[2:4])
    assert steps[4] == Step(
        GateState(mode="locked", clock=60.0),
        (Relock("both"), Led("red")),
        (),
        (AlarmCleared("gate-main", "fire_alarm"),),
    )


def test_fire_clears_door_alarms_and_stays_open_while_power_is_out():
    steps = run(SAFE, [LeafOpen(0.0), FireAlarm(1.0, True), Power(2.0, False), FireAlarm(3.0, False), Power(4.0, True)])
    assert steps[1].commands == (AlarmOutput(False), Buzzer("off"), Unlock("both", None), Led("amber"))
    assert steps[1].events == (AlarmCleared("gate-main", "door_forced"),)
    assert steps[2].commands == () and steps[2].state.mode == "fail_safe_open"
    assert steps[3] == Step(
        GateState(mode="fail_safe_open", clock=3.0, leaf_open=True, power=False),
        (),
        (),
        (AlarmCleared("gate-main", "fire_alarm"),),
    )
    # Power back with the leaf still open: relock, and the leaf gets the usual time to close.
    assert steps[4] == Step(
        GateState(mode="passing", clock=4.0, leaf_open=True, held_at=19.0),
        (Relock("both"), Led("red")),
        (),
        (AlarmCleared("gate-main", "power_lost"),),
    )


def test_repeated_inputs_are_idempotent():
    s = last(SECURE, [FireAlarm(0.0, True)])
    assert step(SECURE, s, FireAlarm(1.0, True)) == Step(replace(s, clock=1.0))
    assert step(SECURE, GateState(), Power(1.0, True)) == Step(GateState(clock=1.0))
    assert step(SECURE, GateState(), LeafClosed(1.0)) == Step(GateState(clock=1.0))
    o = last(SECURE, [LeafOpen(0.0)])
    assert step(SECURE, o, LeafOpen(1.0)) == Step(replace(o, clock=1.0))


def test_clock_stepping_back_cannot_extend_a_grant():
    steps = run(SECURE, [Grant(100.0, "entry", "p-3"), Tick(104.0), PassageComplete(50.0, "entry")])
    assert steps[2].state.clock == 104.0
    assert steps[2].events == (Passage("gate-main", "entry", "p-3", "grant"),)
    late = run(SECURE, [Grant(100.0, "entry", "p-3"), Tick(105.0), PassageComplete(50.0, "entry")])
    assert late[2].events == (Passage("gate-main", "entry", None, "forced"),)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        step(SECURE, GateState(), Grant(0.0, "sideways"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        step(SECURE, GateState(), BeamCount(0.0, -1))
    with pytest.raises(TypeError):
        step(SECURE, GateState(), "open sesame")  # type: ignore[arg-type]
    for bad_time in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            step(SECURE, GateState(), Tick(bad_time))
    with pytest.raises(ValueError):
        GateConfig("g", fail_mode="open")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        GateConfig("g", open_seconds=0)


# --- invariants over random event sequences ----------------------------------

# Weighted towards grants and passages in one direction, where the interesting interleavings are.
directions = st.sampled_from(["entry", "entry", "entry", "exit"])
event_makers = st.one_of(
    st.tuples(st.just("grant"), directions),
    st.tuples(st.just("passage"), directions),
    st.tuples(st.just("passage"), directions),
    st.tuples(st.sampled_from(["leaf_open", "leaf_closed", "tick", "beams"]), st.integers(0, 3)),
    st.tuples(st.sampled_from(["tamper", "deny", "fire", "power"]), st.booleans()),
    st.tuples(st.just("withdraw"), st.none()),
)
gaps = st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.0, 4.9, 5.0, 5.1, 12.0])


def build(kind, arg, now, n):
    return {
        "grant": lambda: Grant(now, arg, f"p-{n}"),
        "passage": lambda: PassageComplete(now, arg),
        "beams": lambda: BeamCount(now, arg),
        "leaf_open": lambda: LeafOpen(now),
        "leaf_closed": lambda: LeafClosed(now),
        "tick": lambda: Tick(now),
        "tamper": lambda: Tamper(now),
        "deny": lambda: Deny(now),
        "fire": lambda: FireAlarm(now, arg),
        "power": lambda: Power(now, arg),
        "withdraw": lambda: Withdraw(now, f"p-{n - 1}"),
    }[kind]()


@settings(max_examples=400)
@given(st.lists(st.tuples(gaps, event_makers), max_size=40), st.sampled_from([SECURE, SAFE]))
def test_random_sequences_keep_the_rules(script, config):
    state, now = GateState(), 0.0
    released: str | None = None  # what the lock releases, as told by the commands alone
    granted: dict[str, str] = {}  # person -> direction of their accepted grant
    passed: dict[str, int] = {}
    deadline = None
    for n, (gap, (kind, arg)) in enumerate(script):
        now += gap
        event = build(kind, arg, now, n)
        result = step(config, state, event)
        for c in result.commands:
            if isinstance(c, Unlock):
                released = c.direction
                deadline = None if c.seconds is None else now + c.seconds
            elif isinstance(c, Relock):
                released = None
        state = result.state
        if kind == "grant" and not any(isinstance(e, GrantRefused) for e in result.events):
            assert Unlock(arg, config.open_seconds) in result.commands
            granted[f"p-{n}"] = arg
        for e in result.events:
            if isinstance(e, Passage) and e.cause == "grant":
                # Never two passages on one grant, always in the granted direction.
                assert granted[e.person_id] == e.direction
                passed[e.person_id] = passed.get(e.person_id, 0) + 1
                assert passed[e.person_id] == 1
        # Never unlocked at or past the deadline once any event (a tick included) has been seen.
        if released in ("entry", "exit"):
            assert deadline is not None and now < deadline
            assert state.unlocked_direction == released
        # Open both ways exactly while the fire input or a fail-safe power loss says so.
        fail_safe = state.fire or (not state.power and config.fail_mode == "safe")
        assert (released == "both") == fail_safe == (state.mode == "fail_safe_open")
        if state.mode == "locked":
            assert state.unlocked_direction is None and state.grant is None and not state.leaf_open
