"""Who must approve a network change: every customer whose VLANs' reachability it alters, in
either direction (a VLAN's first isolation excepted: its owner's alone), checked against a
brute-force oracle over every address of a small site."""
from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_policy.acl import ANY, Acl, Entry, network
from network_policy.affected import customers_affected, flow_customers, probes
from network_policy.intent import Allow, Service, VlanPolicy, default_allows
from network_policy.reachability import differential

SERVICES = [Service("platform", network("10.0.0.10"), "tcp", (443,)), Service("dns", network("10.0.0.53"), "udp", (53,))]
A = VlanPolicy(110, "acme", network("10.110.0.0/24"), default_allows(SERVICES))
B = VlanPolicy(120, "borealis", network("10.120.0.0/24"), default_allows(SERVICES))
C = VlanPolicy(130, "cobalt", network("10.121.0.0/24"), default_allows(SERVICES))
SITE = {p.vlan: (p.customer, p.subnet) for p in (A, B, C)}
ISOLATED = {p.vlan: p.acl() for p in (A, B, C)}


def opened(*allows: Allow) -> dict[int, Acl]:
    """The isolated site with acme's VLAN given extra allows."""
    return {**ISOLATED, 110: VlanPolicy(110, "acme", A.subnet, A.allows + allows).acl()}


@pytest.mark.parametrize("allow, who", [
    (Allow(30, "ip", network("10.120.0.0/24")), {"acme", "borealis"}),  # into borealis's subnet
    (Allow(30, "tcp", network("10.120.0.7"), 22), {"acme", "borealis"}),  # one host of it
    (Allow(30, "ip", network("10.120.0.0/16")), {"acme", "borealis"}),  # a supernet of it only
    (Allow(30, "ip", network("10.120.0.0/15")), {"acme", "borealis", "cobalt"}),  # both others'
    (Allow(30, "tcp", network("10.0.0.20"), 8443), {"acme"}),  # the shared platform only
    (Allow(30, "udp", network("192.0.2.0/24"), 123), {"acme"}),  # outside the site
])
def test_opening_a_vlan_needs_everyone_it_opens_into(allow, who):
    assert customers_affected(SITE, ISOLATED, opened(allow)) == who


def test_closing_a_flow_needs_the_other_side_too():
    into_borealis = opened(Allow(30, "tcp", network("10.120.0.0/24"), 443))
    assert customers_affected(SITE, into_borealis, ISOLATED) == {"acme", "borealis"}
    # Unbinding an ACL opens the VLAN to everyone.
    assert customers_affected(SITE, ISOLATED, {k: v for k, v in ISOLATED.items() if k != 110}) == {
        "acme", "borealis", "cobalt"}


def test_isolating_a_vlan_for_the_first_time_is_its_owners_alone():
    # No ACL permitted everything, but no customer approved any of it: isolation takes away
    # only what isolation forbids.
    assert customers_affected(SITE, {}, {110: A.acl()}) == {"acme"}
    assert customers_affected(SITE, {120: B.acl()}, {110: A.acl(), 120: B.acl()}) == {"acme"}


def test_an_edit_that_moves_no_flow_needs_only_the_owner():
    # Narrower than an allow already there: the lines change, what passes does not.
    wide = opened(Allow(30, "ip", network("10.120.0.0/24")))
    wider = {**wide, 110: Acl(110, wide[110].entries + (Entry(40, "permit", "tcp", A.subnet, network("10.120.0.9"), 22),))}
    assert customers_affected(SITE, wide, wider) == {"acme"}
    assert customers_affected(SITE, ISOLATED, ISOLATED) == set()


def test_a_spoofed_source_counts_as_coming_from_that_customer():
    # The SVI sees whatever source a host writes: an entry for cobalt's addresses lets acme's
    # hosts speak as cobalt.
    spoof = Acl(110, ISOLATED[110].entries + (Entry(40, "permit", "udp", C.subnet, network("10.0.0.53"), 53),))
    assert customers_affected(SITE, ISOLATED, {**ISOLATED, 110: spoof}) == {"acme", "cobalt"}


def test_a_protocol_only_an_ip_entry_matches_counts():
    # tcp, udp and icmp to borealis stay denied; GRE and every other protocol newly pass.
    narrow = {**ISOLATED, 110: Acl(110, (*(Entry(s, "deny", p, ANY, B.subnet) for s, p in ((1, "tcp"), (2, "udp"),
                                                                                         (3, "icmp"))),
                                         Entry(4, "permit", "ip", A.subnet, B.subnet), *ISOLATED[110].entries))}
    assert customers_affected(SITE, ISOLATED, narrow) == {"acme", "borealis"}


def test_a_vlan_no_customer_owns_cannot_be_approved():
    with pytest.raises(ValueError, match="VLAN 100 belongs to no customer"):
        customers_affected(SITE, {}, {100: Acl(100, ())})


def test_each_flow_of_the_differential_names_the_customers_it_concerns():
    vlans = {v: net for v, (_, net) in SITE.items()}
    diff = differential(vlans, ISOLATED, opened(Allow(30, "ip", network("10.120.0.0/16")),
                                                Allow(40, "tcp", network("10.0.0.20"), 8443)))
    got = {str(f): flow_customers(SITE, f) for f in diff.newly_permitted}
    assert got["VLAN 110 -> vlan 120 tcp/443"] == {"acme", "borealis"}
    assert got["VLAN 110 -> 10.120.0.0/16 tcp/443"] == {"acme"}  # the part of the /16 nobody owns
    assert got["VLAN 110 -> 10.0.0.20 tcp/8443"] == {"acme"}


def test_probes_stand_for_every_class_of_address():
    named = [network("10.0.0.0/30"), network("10.0.0.0/31"), network("10.0.0.2/31")]
    # The /30 is wholly split into named halves: no address stands for it alone.
    assert probes(named) == [ipaddress.IPv4Address("0.0.0.0"), ipaddress.IPv4Address("10.0.0.0"),
                             ipaddress.IPv4Address("10.0.0.2")]
    assert probes([ANY]) == [ipaddress.IPv4Address("0.0.0.0")]


# --- against an oracle: every address of a small site, every protocol and port ---------------------

SMALL = {110: ("acme", network("10.0.0.0/29")), 120: ("borealis", network("10.0.0.8/29")),
         130: ("cobalt", network("10.0.0.16/29"))}  # 10.0.0.24/29: a shared VLAN nobody owns
NETS = [ANY, network("10.0.0.0/29"), network("10.0.0.8/29"), network("10.0.0.10/31"), network("10.0.0.12"),
        network("10.0.0.16/29"), network("10.0.0.16/28"), network("10.0.0.24/29"), network("10.0.0.26"),
        network("10.0.0.0/27"), network("10.0.0.32/27"), network("10.0.0.0/26")]
# Every named network lies in 10.0.0.0/26 (or is ANY), so these addresses cover every class.
UNIVERSE = [*network("10.0.0.0/26"), ipaddress.IPv4Address("192.0.2.1")]
KINDS = [("icmp", None), ("gre", None)] + [(p, n) for p in ("tcp", "udp") for n in (22, 443, 9999)]


@st.composite
def acls(draw) -> Acl | None:
    if draw(st.booleans()) and draw(st.booleans()):
        return None  # no ACL bound
    entries = []
    for seq in draw(st.lists(st.integers(1, 60), max_size=6, unique=True)):
        proto = draw(st.sampled_from(["ip", "tcp", "udp", "icmp"]))
        port = draw(st.sampled_from([None, 22, 443])) if proto in ("tcp", "udp") else None
        entries.append(Entry(seq, draw(st.sampled_from(["permit", "deny"])), proto,
                             draw(st.sampled_from(NETS)), draw(st.sampled_from(NETS)), port))
    return Acl(110, tuple(entries))


def passes(acl: Acl | None, proto, src, dst, port) -> bool:
    return acl is None or acl.decide(proto, src, dst, port) == "permit"


def oracle(before: Acl | None, after: Acl | None) -> set[str]:
    own = SMALL[110][1]
    out = {"acme"} if before != after else set()
    if before is None:
        return out  # a first isolation is the owner's alone
    for customer, net in (SMALL[120], SMALL[130]):
        pairs = [(s, d) for s in UNIVERSE for d in UNIVERSE if (s in net or d in net) and d not in own]
        if any(passes(before, proto, s, d, port) != passes(after, proto, s, d, port)
               for s, d in pairs for proto, port in KINDS):
            out.add(customer)
    return out


def maybe(vlan: int, acl: Acl | None) -> dict[int, Acl]:
    return {} if acl is None else {vlan: acl}


@settings(max_examples=60, deadline=None)
@given(acls(), acls())
def test_the_set_matches_an_exhaustive_oracle(before, after):
    assert customers_affected(SMALL, maybe(110, before), maybe(110, after)) == oracle(before, after)


@settings(max_examples=60, deadline=None)
@given(acls(), acls(), acls())
def test_the_set_does_not_depend_on_the_other_acls_passed(before, after, bystander):
    # The controller passes the whole site, the edge one device at a time: both get the same set.
    alone = customers_affected(SMALL, maybe(110, before), maybe(110, after))
    other = {} if bystander is None else {120: Acl(120, bystander.entries)}
    assert customers_affected(SMALL, {**maybe(110, before), **other}, {**maybe(110, after), **other}) == alone
