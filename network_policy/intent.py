"""Isolation intent: what each customer VLAN may reach, and how a change to it is scoped.

By default a customer VLAN reaches only the site's shared services (the annotation platform, DNS);
everything else, every other customer's VLAN included, is denied. A change request replaces the
allow list of one or more VLANs; it touches the customers owning those VLANs and the devices that
route them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .acl import ANY, DENY_ALL_SEQ, MAX_SEQ, Acl, DeviceAcls, Entry, Net, Proto


@dataclass(frozen=True, order=True)
class Allow:
    seq: int
    proto: Proto
    dst: Net
    port: int | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.seq <= MAX_SEQ:
            raise ValueError(f"allow sequence {self.seq} outside 1..{MAX_SEQ}")


@dataclass(frozen=True)
class VlanPolicy:
    vlan: int
    customer: str
    subnet: Net
    allows: tuple[Allow, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "allows", tuple(sorted(self.allows)))
        seqs = [a.seq for a in self.allows]
        if len(seqs) != len(set(seqs)):
            raise ValueError(f"VLAN {self.vlan}: two allows share a sequence number")
        for a in self.allows:
            # Validates proto/port together, the way the device will see it.
            Entry(a.seq, "permit", a.proto, self.subnet, a.dst, a.port)
            if a.dst.overlaps(self.subnet):
                raise ValueError(f"VLAN {self.vlan}: allow {a.seq} points into the VLAN's own subnet")

    def acl(self) -> Acl:
        """Permits only from the VLAN's own subnet (a spoofed source falls to the final deny)."""
        entries = [Entry(a.seq, "permit", a.proto, self.subnet, a.dst, a.port) for a in self.allows]
        entries.append(Entry(DENY_ALL_SEQ, "deny", "ip", ANY, ANY))
        return Acl(self.vlan, tuple(entries))


@dataclass(frozen=True)
class Service:
    """A shared destination every customer VLAN may reach by default."""

    id: str
    address: Net
    proto: Proto
    ports: tuple[int, ...] = ()


def default_allows(services: Iterable[Service]) -> tuple[Allow, ...]:
    allows: list[Allow] = []
    for service in services:
        for port in service.ports or (None,):
            allows.append(Allow(10 * (len(allows) + 1), service.proto, service.address, port, service.id))
    return tuple(allows)


def next_seq(policy: VlanPolicy) -> int:
    return max((a.seq for a in policy.allows), default=0) + 10


# Which switch routes which VLANs: switch id -> VLAN ids with an SVI there.
Routing = Mapping[str, Iterable[int]]


def device_acls(policies: Mapping[int, VlanPolicy], routing: Routing, device: str) -> DeviceAcls:
    """The ACLs one device must hold for the customer VLANs it routes."""
    return {v: policies[v].acl() for v in sorted(routing.get(device, ())) if v in policies}


def devices_for(vlans: Iterable[int], routing: Routing) -> list[str]:
    wanted = set(vlans)
    return sorted(d for d, routed in routing.items() if wanted & set(routed))


def customers_touched(before: Mapping[int, VlanPolicy], after: Mapping[int, VlanPolicy]) -> set[str]:
    """Owners of every VLAN whose policy differs, on either side of the change."""
    out: set[str] = set()
    for vlan in set(before) | set(after):
        b, a = before.get(vlan), after.get(vlan)
        if b != a:
            out.update(p.customer for p in (b, a) if p is not None)
    return out
