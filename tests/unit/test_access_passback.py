"""Anti-passback per area: modes, exemption, officer reset, record only on passage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access_control.passback import (
    PassbackPolicy,
    PassbackResult,
    Presence,
    PresenceState,
    areas_for,
    check,
    record_passage,
    reset,
)

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)
HARD = PassbackPolicy("hard")
SOFT = PassbackPolicy("soft")
TIMED = PassbackPolicy("timed", timeout=timedelta(minutes=30))
OFF = PassbackPolicy("off")

INSIDE = PresenceState({"p-003": Presence("floor3", T0, "gate-main")})


def entry(state, policy, now=T0 + timedelta(minutes=1), person="p-003"):
    return check(state, person, "outside", "floor3", policy, now)


def test_neutral_person_may_go_anywhere():
    for policy in (HARD, SOFT, TIMED, OFF):
        assert entry(PresenceState(), policy) == PassbackResult("ok")
        assert check(PresenceState(), "p-003", "floor3", "outside", policy, T0) == PassbackResult("ok")


def test_normal_exit_after_entry_is_ok():
    assert check(INSIDE, "p-003", "floor3", "outside", HARD, T0) == PassbackResult(
        "ok", Presence("floor3", T0, "gate-main")
    )


def test_second_entry_at_another_gate_of_the_same_area_is_passback():
    # Entered through gate-main; the badge comes back over the gate and is shown at gate-side.
    recorded = Presence("floor3", T0, "gate-main")
    assert entry(INSIDE, HARD) == PassbackResult("denied", recorded)
    assert entry(INSIDE, SOFT) == PassbackResult("soft", recorded)
    assert entry(INSIDE, TIMED) == PassbackResult("denied", recorded)
    assert entry(INSIDE, OFF) == PassbackResult("ok")
    assert not entry(INSIDE, HARD).allowed
    assert entry(INSIDE, SOFT).allowed


def test_record_in_a_third_area_is_a_violation_too():
    elsewhere = PresenceState({"p-003": Presence("floor4", T0)})
    assert entry(elsewhere, HARD).outcome == "denied"


def test_timed_record_expires_to_neutral():
    assert entry(INSIDE, TIMED, T0 + timedelta(minutes=29, seconds=59)).outcome == "denied"
    assert entry(INSIDE, TIMED, T0 + timedelta(minutes=30)) == PassbackResult("ok")
    # Hard records never age.
    assert entry(INSIDE, HARD, T0 + timedelta(days=30)).outcome == "denied"


def test_exempt_person_is_never_checked():
    policy = PassbackPolicy("hard", exempt=frozenset({"p-003"}))
    assert entry(INSIDE, policy) == PassbackResult("ok")
    other = PresenceState({"p-004": Presence("floor3", T0)})
    assert entry(other, policy, person="p-004").outcome == "denied"


def test_officer_reset_all_and_one():
    both = PresenceState({"p-003": Presence("floor3", T0), "p-004": Presence("floor3", T0)})
    assert reset(both) == PresenceState()
    only = reset(both, "p-003")
    assert only == PresenceState({"p-004": Presence("floor3", T0)})
    assert entry(only, HARD).outcome == "ok"
    assert entry(only, HARD, person="p-004").outcome == "denied"
    assert reset(only, "nobody") is only


def test_record_passage_moves_only_that_person():
    state = record_passage(INSIDE, "p-004", "floor3", T0, "gate-side")
    assert state == PresenceState(
        {"p-003": Presence("floor3", T0, "gate-main"), "p-004": Presence("floor3", T0, "gate-side")}
    )
    assert INSIDE == PresenceState({"p-003": Presence("floor3", T0, "gate-main")})  # old state untouched
    later = record_passage(state, "p-003", "outside", T0 + timedelta(hours=8))
    assert later.get("p-003") == Presence("outside", T0 + timedelta(hours=8))
    assert later.in_area("floor3") == frozenset({"p-004"})


def test_state_is_immutable_and_hashable():
    with pytest.raises(TypeError):
        INSIDE.entries["x"] = Presence("a", T0)  # type: ignore[index]
    assert hash(INSIDE) == hash(PresenceState({"p-003": Presence("floor3", T0, "gate-main")}))
    assert "p-003" in INSIDE and len(INSIDE) == 1 and list(INSIDE) == ["p-003"]


def test_areas_for_direction():
    assert areas_for("entry", "floor3", "outside") == ("outside", "floor3")
    assert areas_for("exit", "floor3", "outside") == ("floor3", "outside")
    with pytest.raises(ValueError):
        areas_for("sideways", "floor3", "outside")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "strict"},
        {"mode": "timed"},
        {"mode": "timed", "timeout": timedelta(0)},
        {"mode": "hard", "timeout": timedelta(1)},
    ],
)
def test_bad_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        PassbackPolicy(**kwargs)


def test_naive_time_and_same_area_are_refused():
    with pytest.raises(ValueError):
        check(INSIDE, "p-003", "outside", "floor3", HARD, datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        check(INSIDE, "p-003", "floor3", "floor3", HARD, T0)
    with pytest.raises(ValueError):
        record_passage(INSIDE, "p-003", "floor3", datetime(2025, 1, 1))


AREAS = ["outside", "floor3", "floor4"]
people = st.sampled_from(["a", "b", "c"])
moves = st.lists(st.tuples(people, st.sampled_from(AREAS), st.integers(0, 120)), max_size=30)


@given(moves, st.sampled_from([HARD, SOFT, TIMED]))
def test_checks_never_change_state_and_hard_follows_the_record(moves, policy):
    state, now = PresenceState(), T0
    for person, target, minutes in moves:
        now += timedelta(minutes=minutes)
        for source in AREAS:
            if source == target:
                continue
            before = state
            result = check(state, person, source, target, policy, now)
            assert state == before
            recorded = state.get(person)
            aged = policy.mode == "timed" and recorded is not None and now - recorded.since >= policy.timeout
            violation = recorded is not None and not aged and recorded.area != source
            assert result.outcome == ("ok" if not violation else "soft" if policy.mode == "soft" else "denied")
        state = record_passage(state, person, target, now)
        assert state.get(person) == Presence(target, now)
