"""The lane state the Gates page draws and the two people of a tailgate (controller/gate_view.py)."""
from __future__ import annotations

import datetime as dt

from controller.gate_view import Decision, lane_state, tailgate_people

T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def s(seconds: float) -> dt.datetime:
    return T + dt.timedelta(seconds=seconds)


def test_lane_states():
    assert lane_state("locked", True, 0) == "closed"
    assert lane_state("unlocked", True, 0) == "open"
    assert lane_state("passing", True, 0) == "open"
    assert lane_state("fail_safe_open", True, 0) == "open"
    assert lane_state("held_open", True, 0) == "alarm"
    assert lane_state("locked", True, 1) == "alarm"
    assert lane_state("unlocked", False, 2) == "offline"
    assert lane_state("unknown", False, 0) == "offline"


def test_a_tailgate_names_the_badge_holder_and_the_follower_whose_badge_was_refused():
    reads = [Decision(s(-4), "p-005", False), Decision(s(-2), "p-003", True)]
    assert tailgate_people("p-003", T, reads) == ("p-003", "p-005")
    # The alarm without the holder (a camera count): the last granted read before it.
    assert tailgate_people(None, T, reads) == ("p-003", "p-005")


def test_a_follower_without_a_badge_read_is_not_named():
    assert tailgate_people("p-003", T, [Decision(s(-2), "p-003", True)]) == ("p-003", None)
    assert tailgate_people(None, T, []) == (None, None)


def test_reads_far_from_the_alarm_do_not_count():
    reads = [Decision(s(-300), "p-007", False), Decision(s(-2), "p-003", True), Decision(s(60), "p-008", True)]
    assert tailgate_people(None, T, reads) == ("p-003", None)
