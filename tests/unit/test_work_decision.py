"""The work decision of the annotation platform: a project's content is shown only at a known
seat's workstation, covered now, on the seat customer's VLAN, for the project's customer, to a
project member the site knows, assigned, trained and inside. Every failing rule is named."""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access_control.credentials import TrainingRecord
from controller.policy import (
    ADDRESS_NOT_IN_CUSTOMER_VLAN,
    NO_TRAINING,
    NOT_ASSIGNED,
    NOT_ASSIGNED_TO_PROJECT,
    NOT_ON_SITE,
    SEAT_NOT_COVERED,
    SEAT_UNVERIFIED,
    TRAINING_EXPIRED,
    UNKNOWN_PERSON,
    UNKNOWN_WORKSTATION,
    WRONG_CUSTOMER,
    PersonFacts,
    SeatFacts,
    WorkFacts,
    work_decision,
)

TODAY = dt.date(2026, 3, 2)
ACME_NET = (ipaddress.IPv4Network("10.110.0.0/24"),)
ANNA = PersonFacts("p-003", "annotator", True, ("acme",),
                   TrainingRecord(dt.date(2025, 10, 15), dt.date(2027, 10, 15)), "floor3")
GOOD = WorkFacts(address="10.110.0.11", project_customer="acme", member=True, seat=SeatFacts("A1", "acme", True),
                 subnets=ACME_NET, person=ANNA, inside=frozenset({"floor3"}), today=TODAY)


def test_all_good_allows():
    d = work_decision(GOOD)
    assert d.allowed and d.reasons == ()


@pytest.mark.parametrize("facts, expected", [
    (replace(GOOD, seat=None), UNKNOWN_WORKSTATION),
    (replace(GOOD, seat=SeatFacts("A1", "acme", False, ("occluded",))), SEAT_NOT_COVERED),
    (replace(GOOD, seat=SeatFacts("A1", "acme", None)), SEAT_UNVERIFIED),
    (replace(GOOD, address="10.120.0.11"), ADDRESS_NOT_IN_CUSTOMER_VLAN),
    (replace(GOOD, address="not-an-address"), ADDRESS_NOT_IN_CUSTOMER_VLAN),
    (replace(GOOD, subnets=()), ADDRESS_NOT_IN_CUSTOMER_VLAN),
    (replace(GOOD, seat=SeatFacts("B1", "borealis", True), person=replace(ANNA, customers=("acme", "borealis"))),
     WRONG_CUSTOMER),
    (replace(GOOD, member=False), NOT_ASSIGNED_TO_PROJECT),
    (replace(GOOD, person=None), UNKNOWN_PERSON),
    (replace(GOOD, person=replace(ANNA, customers=("borealis",))), NOT_ASSIGNED),
    (replace(GOOD, person=replace(ANNA, training=None)), NO_TRAINING),
    (replace(GOOD, person=replace(ANNA, training=TrainingRecord(dt.date(2024, 1, 1), TODAY))), TRAINING_EXPIRED),
    (replace(GOOD, person=replace(ANNA, area="outside")), NOT_ON_SITE),
    (replace(GOOD, person=replace(ANNA, area=None)), NOT_ON_SITE),
])
def test_each_condition_alone_denies_with_its_reason(facts, expected):
    d = work_decision(facts)
    assert (d.allowed, d.reasons) == (False, (expected,))


def test_every_failing_reason_is_listed():
    worst = replace(GOOD, address="10.9.9.9", seat=SeatFacts("B1", "borealis", False), member=False,
                    person=replace(ANNA, customers=(), training=None, area="outside"))
    assert work_decision(worst).reasons == (SEAT_NOT_COVERED, ADDRESS_NOT_IN_CUSTOMER_VLAN, WRONG_CUSTOMER,
                                            NOT_ASSIGNED_TO_PROJECT, NOT_ASSIGNED, NO_TRAINING, NOT_ON_SITE)


@given(seat=st.sampled_from(["acme-covered", "acme-open", "acme-unjudged", "borealis", None]),
       address=st.sampled_from(["10.110.0.11", "10.120.0.11", "192.168.1.4"]),
       member=st.booleans(), assigned=st.booleans(), known=st.booleans(),
       training=st.sampled_from(["current", "expired", None]), area=st.sampled_from(["floor3", "outside", None]))
def test_allowed_exactly_when_every_condition_holds(seat, address, member, assigned, known, training, area):
    seats = {"acme-covered": SeatFacts("A1", "acme", True), "acme-open": SeatFacts("A1", "acme", False),
             "acme-unjudged": SeatFacts("A1", "acme", None), "borealis": SeatFacts("B1", "borealis", True), None: None}
    records = {"current": ANNA.training, "expired": TrainingRecord(dt.date(2020, 1, 1), dt.date(2021, 1, 1)), None: None}
    person = replace(ANNA, customers=("acme",) if assigned else (), training=records[training], area=area)
    facts = replace(GOOD, seat=seats[seat], address=address, member=member, person=person if known else None)
    d = work_decision(facts)
    assert d.allowed == (seat == "acme-covered" and address == "10.110.0.11" and member and known and assigned
                         and training == "current" and area == "floor3")
    assert d.allowed == (not d.reasons)
    assert len(set(d.reasons)) == len(d.reasons)
