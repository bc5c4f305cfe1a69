"""The work decision of the annotation platform: a project's content is shown only at a known
seat's workstation, covered now, on the seat customer's VLAN, for the project's customer, to a
project member the site knows, assigned, trained and inside; or, remotely, from the project
customer's range where it allows remote work, over an active peer of this person, for a kind of
data it lets out, with its watermark. Every failing rule is named."""
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
    MODALITY_NOT_ALLOWED_REMOTELY,
    NO_TRAINING,
    NOT_ASSIGNED,
    NOT_ASSIGNED_TO_PROJECT,
    NOT_ON_SITE,
    PAUSED_FOR_QUALITY,
    PERSON_INACTIVE,
    REMOTE_PEER_OF_ANOTHER_PERSON,
    REMOTE_RANGE_OF_ANOTHER_CUSTOMER,
    REMOTE_WORK_DENIED,
    ROLE_MAY_NOT_WORK,
    SEAT_NOT_COVERED,
    SEAT_UNVERIFIED,
    TRAINING_EXPIRED,
    UNKNOWN_PERSON,
    UNKNOWN_REMOTE_PEER,
    UNKNOWN_WORKSTATION,
    WRONG_CUSTOMER,
    PersonFacts,
    RemoteFacts,
    RemotePeer,
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


# --- a remote session: no camera seat; the customer's remote rules in place of the seat's ------------

PEER = RemotePeer("p-003", "k" * 43 + "=", "10.77.0.5")
ACME_REMOTE = RemoteFacts("acme", allowed=True, modalities=("text", "audio"), watermark=True, peer=PEER)
REMOTE = replace(GOOD, address="10.77.0.5", seat=None, subnets=(), remote=ACME_REMOTE, modality="text",
                 person=replace(ANNA, area=None))  # never passed a gate: no matter, remotely


def test_a_remote_session_of_an_allowed_peer_is_allowed_with_a_watermark_naming_person_and_address():
    d = work_decision(REMOTE)
    assert (d.allowed, d.reasons, d.watermark) == (True, (), "p-003 · 10.77.0.5")


def test_a_remote_session_without_the_customers_watermark_and_a_seat_carry_none():
    assert work_decision(replace(REMOTE, remote=replace(ACME_REMOTE, watermark=False))).watermark is None
    assert work_decision(GOOD).watermark is None
    refused = work_decision(replace(REMOTE, member=False))
    assert not refused.allowed and refused.watermark is None  # nothing is shown, so nothing is marked


@pytest.mark.parametrize("facts, expected", [
    (replace(REMOTE, remote=replace(ACME_REMOTE, allowed=False)), REMOTE_WORK_DENIED),
    (replace(REMOTE, remote=replace(ACME_REMOTE, customer="borealis"),
             person=replace(ANNA, area=None, customers=("acme", "borealis"))), REMOTE_RANGE_OF_ANOTHER_CUSTOMER),
    (replace(REMOTE, remote=replace(ACME_REMOTE, peer=None)), UNKNOWN_REMOTE_PEER),
    (replace(REMOTE, remote=replace(ACME_REMOTE, peer=replace(PEER, person="p-004"))), REMOTE_PEER_OF_ANOTHER_PERSON),
    (replace(REMOTE, modality="image"), MODALITY_NOT_ALLOWED_REMOTELY),
    (replace(REMOTE, modality=""), MODALITY_NOT_ALLOWED_REMOTELY),
    (replace(REMOTE, member=False), NOT_ASSIGNED_TO_PROJECT),
    (replace(REMOTE, paused=True), PAUSED_FOR_QUALITY),
    (replace(REMOTE, person=None), UNKNOWN_PERSON),  # unknown: not also "another person's peer"
    (replace(REMOTE, person=replace(ANNA, active=False)), PERSON_INACTIVE),
    (replace(REMOTE, person=replace(ANNA, role="officer")), ROLE_MAY_NOT_WORK),
    (replace(REMOTE, person=replace(ANNA, customers=("borealis",))), NOT_ASSIGNED),
    (replace(REMOTE, person=replace(ANNA, training=None)), NO_TRAINING),
    (replace(REMOTE, person=replace(ANNA, training=TrainingRecord(dt.date(2024, 1, 1), TODAY))), TRAINING_EXPIRED),
])
def test_each_remote_condition_alone_denies_with_its_reason(facts, expected):
    d = work_decision(facts)
    assert (d.allowed, d.reasons, d.watermark) == (False, (expected,), None)


def test_a_remote_session_is_judged_by_no_seat_rule_and_never_by_presence():
    # No seat, no VLAN subnet, the gates put the person outside: none of it is a reason remotely.
    d = work_decision(replace(REMOTE, subnets=(), person=replace(ANNA, area="outside")))
    assert d.allowed
    assert not {UNKNOWN_WORKSTATION, ADDRESS_NOT_IN_CUSTOMER_VLAN, WRONG_CUSTOMER, NOT_ON_SITE} & set(d.reasons)


def test_every_failing_remote_reason_is_listed_in_order():
    worst = replace(REMOTE, modality="image", member=False, paused=True,
                    remote=replace(ACME_REMOTE, allowed=False, customer="borealis", peer=replace(PEER, person="p-009")),
                    person=replace(ANNA, customers=(), training=None, area="outside"))
    assert work_decision(worst).reasons == (
        REMOTE_WORK_DENIED, REMOTE_RANGE_OF_ANOTHER_CUSTOMER, REMOTE_PEER_OF_ANOTHER_PERSON,
        MODALITY_NOT_ALLOWED_REMOTELY, NOT_ASSIGNED_TO_PROJECT, PAUSED_FOR_QUALITY, NOT_ASSIGNED, NO_TRAINING)


@given(allowed=st.booleans(), customer=st.sampled_from(["acme", "borealis"]),
       peer=st.sampled_from(["p-003", "p-004", None]), modality=st.sampled_from(["text", "audio", "image"]),
       member=st.booleans(), training=st.sampled_from(["current", "expired", None]),
       area=st.sampled_from(["floor3", "outside", None]), watermark=st.booleans())
def test_remote_allowed_exactly_when_every_remote_condition_holds(allowed, customer, peer, modality, member,
                                                                  training, area, watermark):
    records = {"current": ANNA.training, "expired": TrainingRecord(dt.date(2020, 1, 1), dt.date(2021, 1, 1)), None: None}
    remote = replace(ACME_REMOTE, allowed=allowed, customer=customer, watermark=watermark,
                     peer=None if peer is None else replace(PEER, person=peer))
    facts = replace(REMOTE, remote=remote, modality=modality, member=member,
                    person=replace(ANNA, training=records[training], area=area))
    d = work_decision(facts)
    ok = (allowed and customer == "acme" and peer == "p-003" and modality != "image" and member
          and training == "current")
    assert d.allowed == ok == (not d.reasons)
    assert len(set(d.reasons)) == len(d.reasons)
    assert d.watermark == ("p-003 · 10.77.0.5" if ok and watermark else None)
