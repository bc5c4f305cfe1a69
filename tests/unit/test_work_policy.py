"""The work policy: customer data is shown at a seat only when the video proves the seat covered,
to an assigned, trained annotator whom the gates put inside. Every failing rule is named."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access_control.credentials import TrainingRecord
from controller.policy import (
    NO_TRAINING,
    NOT_ASSIGNED,
    NOT_ON_SITE,
    PERSON_INACTIVE,
    ROLE_MAY_NOT_WORK,
    SEAT_NOT_COVERED,
    SEAT_UNVERIFIED,
    TRAINING_EXPIRED,
    UNKNOWN_PERSON,
    PersonFacts,
    SeatFacts,
    may_work,
)

TODAY = dt.date(2026, 3, 2)
INSIDE = frozenset({"floor3"})
SEAT = SeatFacts("A1", "acme", True)
ANNA = PersonFacts("p-003", "annotator", True, ("acme",),
                   TrainingRecord(dt.date(2025, 10, 15), dt.date(2027, 10, 15)), "floor3")


def reasons(seat=SEAT, person=ANNA, inside=INSIDE, today=TODAY):
    v = may_work(seat, person, inside, today)
    assert v.allowed == (not v.reasons)
    return v.reasons


def test_a_trained_assigned_annotator_inside_at_a_covered_seat_may_work():
    assert may_work(SEAT, ANNA, INSIDE, TODAY).allowed


@pytest.mark.parametrize("seat, person, expected", [
    (replace(SEAT, covered=False, reasons=("occluded",)), ANNA, (SEAT_NOT_COVERED,)),
    (replace(SEAT, covered=None), ANNA, (SEAT_UNVERIFIED,)),
    (SEAT, None, (UNKNOWN_PERSON,)),
    (SEAT, replace(ANNA, active=False), (PERSON_INACTIVE,)),
    (SEAT, replace(ANNA, role="visitor"), (ROLE_MAY_NOT_WORK,)),
    (SEAT, replace(ANNA, customers=("borealis",)), (NOT_ASSIGNED,)),
    (SEAT, replace(ANNA, training=None), (NO_TRAINING,)),
    (SEAT, replace(ANNA, training=TrainingRecord(dt.date(2026, 3, 3), dt.date(2028, 1, 1))), (NO_TRAINING,)),
    (SEAT, replace(ANNA, area="outside"), (NOT_ON_SITE,)),
    (SEAT, replace(ANNA, area=None), (NOT_ON_SITE,)),
])
def test_each_rule_alone(seat, person, expected):
    assert reasons(seat, person) == expected


def test_training_runs_up_to_not_including_its_expiry_day_as_at_the_gate():
    expiring = replace(ANNA, training=TrainingRecord(dt.date(2024, 3, 2), TODAY))
    assert reasons(person=expiring) == (TRAINING_EXPIRED,)
    assert reasons(person=expiring, today=TODAY - dt.timedelta(days=1)) == ()


def test_every_failing_rule_is_named_at_once():
    worst = PersonFacts("p-010", "visitor", False, ("borealis",), None, "outside")
    assert reasons(replace(SEAT, covered=False), worst) == (
        SEAT_NOT_COVERED, PERSON_INACTIVE, ROLE_MAY_NOT_WORK, NOT_ASSIGNED, NO_TRAINING, NOT_ON_SITE)


def test_a_site_without_gates_cannot_hold_anyone_to_presence():
    assert reasons(person=replace(ANNA, area=None), inside=frozenset()) == ()


def test_the_seat_alone():
    assert may_work(SEAT, None, INSIDE, TODAY, check_person=False).allowed
    assert may_work(replace(SEAT, covered=None), None, INSIDE, TODAY, check_person=False).reasons == (SEAT_UNVERIFIED,)


@given(covered=st.sampled_from([True, False, None]), active=st.booleans(),
       role=st.sampled_from(["annotator", "officer", "visitor", "staff"]),
       assigned=st.booleans(), area=st.sampled_from(["floor3", "outside", None]),
       training=st.sampled_from([None, "current", "expired", "future"]))
def test_allowed_exactly_when_every_rule_holds(covered, active, role, assigned, area, training):
    records = {None: None, "current": ANNA.training,
               "expired": TrainingRecord(dt.date(2020, 1, 1), dt.date(2021, 1, 1)),
               "future": TrainingRecord(dt.date(2027, 1, 1), dt.date(2029, 1, 1))}
    person = PersonFacts("p-x", role, active, ("acme",) if assigned else (), records[training], area)
    v = may_work(replace(SEAT, covered=covered), person, INSIDE, TODAY)
    assert v.allowed == (covered is True and active and role == "annotator" and assigned
                         and area == "floor3" and training == "current")
