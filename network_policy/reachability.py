"""What the rendered ACLs let through between networks, before and after a change.

Isolation ACLs sit inbound on each VLAN's SVI, so a flow from VLAN A to a destination is routed
only if A's ACL permits it (a VLAN without an ACL permits everything). The analysis is exact for
the rules SiteGuard writes (prefix match on addresses, one destination port): it probes one
representative per equivalence class, i.e. every network and host named anywhere plus an address
named nowhere, every port named anywhere plus a port named nowhere, for each protocol.
A differential check then lists what a change newly permits and newly denies, so a reviewer
sees both the intended effect and that nothing else moved.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .acl import ANY, Acl, Net

UNNAMED_PORT = 65001  # stands for every port no rule names
UNNAMED_ADDRESS = ipaddress.IPv4Address("198.18.255.254")  # benchmark range: in no site's plan


@dataclass(frozen=True, order=True)
class Flow:
    src_vlan: int
    dst: str  # a label: "vlan 120", "10.0.0.10", "elsewhere"
    proto: str
    port: int | None
    address: ipaddress.IPv4Address | None = field(default=None, compare=False)  # the probe sent to ``dst``

    def __str__(self) -> str:
        port = "" if self.port is None else f"/{'other' if self.port == UNNAMED_PORT else self.port}"
        return f"VLAN {self.src_vlan} -> {self.dst} {self.proto}{port}"


@dataclass(frozen=True)
class Destination:
    label: str
    address: ipaddress.IPv4Address


def _host_in(net: Net) -> ipaddress.IPv4Address:
    """A usable address inside ``net`` (its first host, or the address of a /32)."""
    return net.network_address if net.prefixlen >= 31 else net.network_address + 1


def _representative(net: Net, named: Iterable[Net]) -> ipaddress.IPv4Address:
    """An address of ``net`` outside every more specific named network inside it, so the probe
    stands for the part of ``net`` that no narrower rule speaks about."""
    if net.prefixlen >= 31:
        return net.network_address
    inner = [n for n in named if n != net and n.subnet_of(net)]
    for offset in range(1, min(net.num_addresses - 1, 4097)):
        addr = net.network_address + offset
        if not any(addr in n for n in inner):
            return addr
    return net.network_address + 1


def destinations(vlans: Mapping[int, Net], acls: Iterable[Acl]) -> list[Destination]:
    named: dict[Net, str] = {net: f"vlan {vid}" for vid, net in vlans.items()}
    for acl in acls:
        for e in acl.entries:
            if e.dst != ANY and e.dst not in named:
                named[e.dst] = str(e.dst.network_address) if e.dst.prefixlen == 32 else str(e.dst)
    out = [Destination(label, _representative(net, named)) for net, label in named.items()]
    out.append(Destination("elsewhere", UNNAMED_ADDRESS))
    return sorted(out, key=lambda d: d.label)


def ports(acls: Iterable[Acl]) -> list[int]:
    return sorted({e.port for acl in acls for e in acl.entries if e.port is not None} | {UNNAMED_PORT})


def matrix(vlans: Mapping[int, Net], acls: Mapping[int, Acl], extra: Iterable[Acl] = ()) -> dict[Flow, bool]:
    """Whether each representative flow out of each VLAN is permitted."""
    every = list(acls.values()) + list(extra)
    dests = destinations(vlans, every)
    port_list = ports(every)
    out: dict[Flow, bool] = {}
    for vid, subnet in sorted(vlans.items()):
        src = _host_in(subnet)
        acl = acls.get(vid)
        for d in dests:
            if d.address in subnet:
                continue  # inside the VLAN: switched, not routed
            for proto in ("icmp", "tcp", "udp"):
                for port in (port_list if proto != "icmp" else [None]):
                    allowed = acl is None or acl.decide(proto, src, d.address, port) == "permit"
                    out[Flow(vid, d.label, proto, port, d.address)] = allowed
    return out


@dataclass(frozen=True)
class Differential:
    newly_permitted: tuple[Flow, ...]
    newly_denied: tuple[Flow, ...]

    @property
    def unchanged(self) -> bool:
        return not self.newly_permitted and not self.newly_denied


def differential(vlans: Mapping[int, Net], before: Mapping[int, Acl], after: Mapping[int, Acl]) -> Differential:
    """Flows whose verdict the change flips; probes cover the rules of both sides."""
    b = matrix(vlans, before, after.values())
    a = matrix(vlans, after, before.values())
    return Differential(tuple(sorted(f for f in a if a[f] and not b[f])),
                        tuple(sorted(f for f in a if b[f] and not a[f])))


def cross_customer_flows(vlans: Mapping[int, Net], owners: Mapping[int, str],
                         acls: Mapping[int, Acl]) -> list[Flow]:
    """Permitted flows from one customer's VLAN into another customer's: must be empty.
    ``owners`` names the customer of each customer VLAN; shared VLANs (the platform's) are left
    out of it, since replies from the platform must reach every customer."""
    labels = {f"vlan {v}": c for v, c in owners.items()}
    return [f for f, ok in matrix(vlans, acls).items()
            if ok and f.src_vlan in owners and f.dst in labels and labels[f.dst] != owners[f.src_vlan]]
