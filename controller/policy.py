"""May a customer's data be shown at a seat, to a person, now?

The site's rules as one pure decision over plain facts, asked by whatever serves the work (the
annotation platform before it hands out a task, an officer checking a seat). Data may be shown
only where the video proves the seat is covered, to someone assigned to that customer, trained,
and recorded inside the site by the gates. Every reason that holds is returned, not only the
first: the officer fixes them all at once.

A remote session (a request from inside a customer's WireGuard range) has no camera seat, so the
seat rules give way to the customer's remote rules: the customer allows remote work, the range
is the project customer's, an active peer registered to this very person holds the address, and
the project's kind of data is one the customer lets out remotely. The person rules still hold,
but for presence: the gates cannot put a remote worker inside. Where the customer wants it, the
content then carries a watermark naming the person and the peer's address.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from access_control.credentials import TrainingRecord, training_status

WORKING_ROLES = frozenset({"annotator"})

# Reasons, in the order they are reported.
SEAT_UNVERIFIED = "seat_unverified"  # no edge agent on line vouches for the seat right now
SEAT_NOT_COVERED = "seat_not_covered"
UNKNOWN_PERSON = "unknown_person"
PERSON_INACTIVE = "person_inactive"
ROLE_MAY_NOT_WORK = "role_may_not_work"
NOT_ASSIGNED = "not_assigned_to_customer"
NO_TRAINING = "no_training"
TRAINING_EXPIRED = "training_expired"
NOT_ON_SITE = "not_on_site"
# The annotation platform's own, asked of the request's address and the project.
UNKNOWN_WORKSTATION = "unknown_workstation"  # the address is no seat's workstation
ADDRESS_NOT_IN_CUSTOMER_VLAN = "address_not_in_customer_vlan"
WRONG_CUSTOMER = "wrong_customer"  # the seat is another customer's than the project
NOT_ASSIGNED_TO_PROJECT = "not_assigned_to_project"
PAUSED_FOR_QUALITY = "paused_for_quality"  # accuracy on gold under the project's target; an officer lifts it
# A remote session's, in place of the seat's.
REMOTE_WORK_DENIED = "remote_work_denied"  # the range's customer does not allow remote work
REMOTE_RANGE_OF_ANOTHER_CUSTOMER = "remote_range_of_another_customer"  # not the project's customer's range
UNKNOWN_REMOTE_PEER = "unknown_remote_peer"  # no active peer of the customer holds the address
REMOTE_PEER_OF_ANOTHER_PERSON = "remote_peer_of_another_person"  # the device is registered to someone else
MODALITY_NOT_ALLOWED_REMOTELY = "modality_not_allowed_remotely"


@dataclass(frozen=True)
class SeatFacts:
    seat: str
    customer: str
    covered: bool | None  # None: nobody on line has judged it
    reasons: tuple[str, ...] = ()  # the coverage check's own reasons when not covered


@dataclass(frozen=True)
class PersonFacts:
    person: str
    role: str
    active: bool
    customers: tuple[str, ...]
    training: TrainingRecord | None
    area: str | None  # where the gates last put them; None: never passed a gate


@dataclass(frozen=True)
class WorkVerdict:
    allowed: bool
    reasons: tuple[str, ...]


def seat_reasons(seat: SeatFacts) -> list[str]:
    if seat.covered is None:
        return [SEAT_UNVERIFIED]
    return [] if seat.covered else [SEAT_NOT_COVERED]


def person_reasons(seat: SeatFacts, person: PersonFacts | None, inside: frozenset[str],
                   today: dt.date) -> list[str]:
    """``today``: the site's local date. ``inside``: the areas behind the site's gates; empty
    when the site has no gates, and then presence is not a rule (nothing could record it)."""
    return _person_reasons(seat.customer, person, inside, today)


def _person_reasons(customer: str, person: PersonFacts | None, inside: frozenset[str],
                    today: dt.date) -> list[str]:
    if person is None:
        return [UNKNOWN_PERSON]
    out: list[str] = []
    if not person.active:
        out.append(PERSON_INACTIVE)
    if person.role not in WORKING_ROLES:
        out.append(ROLE_MAY_NOT_WORK)
    if customer not in person.customers:
        out.append(NOT_ASSIGNED)
    trained = training_status(person.training, today)
    if trained != "current":
        out.append(NO_TRAINING if trained == "none" else TRAINING_EXPIRED)
    if inside and person.area not in inside:
        out.append(NOT_ON_SITE)
    return out


def may_work(seat: SeatFacts, person: PersonFacts | None, inside: frozenset[str], today: dt.date,
             check_person: bool = True) -> WorkVerdict:
    """``check_person=False`` asks about the seat alone: may it show its customer's data to anyone."""
    reasons = seat_reasons(seat)
    if check_person:
        reasons += person_reasons(seat, person, inside, today)
    return WorkVerdict(not reasons, tuple(reasons))


@dataclass(frozen=True)
class RemotePeer:
    """An active WireGuard peer: the site's person it is registered to, its key and its /32."""

    person: str
    public_key: str
    address: str


@dataclass(frozen=True)
class RemoteFacts:
    """A request from inside ``customer``'s remote range, that customer's remote rules, and the
    customer's active peer at the request's address (None: none holds it)."""

    customer: str
    allowed: bool
    modalities: tuple[str, ...]
    watermark: bool
    peer: RemotePeer | None


@dataclass(frozen=True)
class WorkFacts:
    """What the annotation platform knows, live, when it is about to show a project's item.

    ``address``: where the request came from. ``seat``: the seat whose workstation has that
    address (None: none has). ``subnets``: the VLAN subnets of the seat's customer. ``member``:
    the login is a member of the project. ``person``: the site's person that login is (None:
    none). ``inside``/``today``: as for ``may_work``, of the seat's site. ``paused``: an open
    quality pause holds the login from the project. ``remote``: set when the address is in a
    customer's remote range and no seat's (``seat`` is then None). ``modality``: the project's
    kind of data (text, audio, image)."""

    address: str
    project_customer: str
    member: bool
    seat: SeatFacts | None
    subnets: tuple[ipaddress.IPv4Network, ...]
    person: PersonFacts | None
    inside: frozenset[str]
    today: dt.date
    paused: bool = False
    remote: RemoteFacts | None = None
    modality: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[str, ...]
    watermark: str | None = None  # what the shown content must carry; None: nothing


def _remote_reasons(f: WorkFacts, r: RemoteFacts) -> list[str]:
    out: list[str] = []
    if not r.allowed:
        out.append(REMOTE_WORK_DENIED)
    if r.customer != f.project_customer:
        out.append(REMOTE_RANGE_OF_ANOTHER_CUSTOMER)
    if r.peer is None:
        out.append(UNKNOWN_REMOTE_PEER)
    elif f.person is not None and r.peer.person != f.person.person:  # no person: unknown_person says it
        out.append(REMOTE_PEER_OF_ANOTHER_PERSON)
    if f.modality not in r.modalities:
        out.append(MODALITY_NOT_ALLOWED_REMOTELY)
    return out


def _address_in(address: str, subnets: tuple[ipaddress.IPv4Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in subnets)


def work_decision(f: WorkFacts) -> Decision:
    """May this project's content be shown to this person at this address now. Every failing
    rule is named: the seat (known, covered, on its customer's VLAN, the project's customer's)
    or, for a remote session, the remote rules; the project membership and any quality pause
    from the project, then the person (as ``may_work`` judges them, for the project's customer;
    presence only at a seat). An allowed remote session whose customer wants a watermark gets
    its text: the person and the peer's address."""
    reasons: list[str] = []
    inside = f.inside
    if f.remote is not None:
        reasons += _remote_reasons(f, f.remote)
        inside = frozenset()  # no gate records a remote worker: presence is not a rule there
    elif f.seat is None:
        reasons.append(UNKNOWN_WORKSTATION)
    else:
        reasons += seat_reasons(f.seat)
        if not _address_in(f.address, f.subnets):
            reasons.append(ADDRESS_NOT_IN_CUSTOMER_VLAN)
        if f.seat.customer != f.project_customer:
            reasons.append(WRONG_CUSTOMER)
    if not f.member:
        reasons.append(NOT_ASSIGNED_TO_PROJECT)
    if f.paused:
        reasons.append(PAUSED_FOR_QUALITY)
    reasons += _person_reasons(f.project_customer, f.person, inside, f.today)
    watermark = None
    if not reasons and f.remote is not None and f.remote.watermark and f.remote.peer is not None:
        watermark = f"{f.remote.peer.person} · {f.remote.peer.address}"
    return Decision(not reasons, tuple(reasons), watermark)
