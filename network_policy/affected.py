"""Who must approve a change: every customer whose VLANs' reachability it alters.

A change edits the ACLs bound inbound on some VLANs' SVIs. It alters a customer's reachability
when some packet entering one of those SVIs gets another verdict after the change than before
and that packet comes from, or goes to, one of the customer's subnets. Both directions count:
newly permitted (a way in, or out) and newly denied (a flow the customer relies on, replies
included, is cut). The owner of every VLAN whose ACL changes approves it in any case. A VLAN that
has no ACL yet is not isolated: isolating it concerns its owner only.

This is the reachability differential taken per changed VLAN over equivalence classes of
packets, exact for prefix rules: one probe per class of source address (the SVI sees whatever
source a host writes, so spoofed sources count), of destination address, of protocol and of
port. Working per VLAN makes the answer independent of which other ACLs are passed, so the
controller (the whole site's intent) and the edge (each device's stated ACLs) reach the same set.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from .acl import ANY, Acl, Net
from .reachability import UNNAMED_PORT, Flow

# VLAN id -> (owning customer, subnet), for customer VLANs only (shared VLANs have no owner).
CustomerVlans = Mapping[int, tuple[str, Net]]

OTHER_PROTO = "gre"  # stands for every IP protocol that only an "ip" entry matches


def _first_outside(net: Net, inner: Iterable[Net]) -> ipaddress.IPv4Address | None:
    """The lowest address of ``net`` in none of ``inner`` (None: ``inner`` covers all of it)."""
    candidate = int(net.network_address)
    for n in ipaddress.collapse_addresses(n for n in inner if n.subnet_of(net)):
        if candidate < int(n.network_address):
            break
        candidate = max(candidate, int(n.broadcast_address) + 1)
    return ipaddress.IPv4Address(candidate) if candidate <= int(net.broadcast_address) else None


def probes(named: Iterable[Net]) -> list[ipaddress.IPv4Address]:
    """One address per equivalence class of the named prefixes: for each prefix, an address in
    no narrower named prefix inside it; ``ANY`` stands for the addresses no prefix names."""
    nets = set(named) | {ANY}
    out = {_first_outside(n, [m for m in nets if m != n and m.subnet_of(n)]) for n in nets}
    return sorted(a for a in out if a is not None)


def _verdict(acl: Acl | None, proto: str, src: ipaddress.IPv4Address, dst: ipaddress.IPv4Address,
             port: int | None) -> bool:
    return acl is None or acl.decide(proto, src, dst, port) == "permit"  # no ACL bound permits all


def flips(subnet: Net, others: Iterable[Net], before: Acl | None, after: Acl | None
          ) -> list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address, str, int | None]]:
    """(source, destination, protocol, port) probes routed out of the VLAN ``subnet`` whose verdict
    the change from ``before`` to ``after`` flips (None: no ACL bound). ``others``: the subnets
    whose owners' stake is asked, each made a class of its own."""
    acls = [x for x in (before, after) if x is not None]
    subnets = [subnet, *others]
    srcs = probes(subnets + [e.src for x in acls for e in x.entries])
    dsts = [d for d in probes(subnets + [e.dst for x in acls for e in x.entries]) if d not in subnet]
    ports = sorted({e.port for x in acls for e in x.entries if e.port is not None} | {UNNAMED_PORT})
    kinds = [("icmp", None), (OTHER_PROTO, None)] + [(p, n) for p in ("tcp", "udp") for n in ports]
    return [(s, d, proto, port) for s in srcs for d in dsts for proto, port in kinds
            if _verdict(before, proto, s, d, port) != _verdict(after, proto, s, d, port)]


def owners_of(vlans: CustomerVlans, *addresses: ipaddress.IPv4Address | None) -> set[str]:
    return {c for c, net in vlans.values() for a in addresses if a is not None and a in net}


def customers_affected(vlans: CustomerVlans, before: Mapping[int, Acl], after: Mapping[int, Acl]) -> set[str]:
    """Every customer that must approve a change of the ACLs ``before`` -> ``after`` (VLAN id ->
    ACL; a VLAN missing has none bound): the owners of the VLANs whose ACL changes, and, for a
    VLAN that had an ACL, every customer one of whose subnets a flipped packet comes from or goes
    to. ValueError: a changed VLAN that no customer owns."""
    out: set[str] = set()
    for vid in sorted(set(before) | set(after)):
        b, a = before.get(vid), after.get(vid)
        if b == a:
            continue
        own = vlans.get(vid)
        if own is None:
            raise ValueError(f"VLAN {vid} belongs to no customer; nobody can approve a change to it")
        out.add(own[0])
        if b is None:
            # Not isolated yet: its first ACL only takes away what isolation forbids anyway, never
            # a flow some customer approved, so it is its owner's alone. (From no ACL nothing can
            # be newly permitted.)
            continue
        others = [net for v, (_, net) in vlans.items() if v != vid]
        for src, dst, _, _ in flips(own[1], others, b, a):
            out |= owners_of(vlans, src, dst)
    return out


def flow_customers(vlans: CustomerVlans, flow: Flow) -> set[str]:
    """The customers one flow of the differential concerns: its source VLAN's and its destination's."""
    src = vlans.get(flow.src_vlan)
    return ({src[0]} if src else set()) | owners_of(vlans, flow.address)
