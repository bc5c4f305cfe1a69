"""Vendor-neutral isolation ACLs: what a customer VLAN may reach, as ordered first-match entries.

An isolation ACL is bound inbound on the VLAN's routed interface (SVI), so it sees every packet
that leaves the VLAN for another network; traffic inside the VLAN is switched, never routed, and
never reaches it. Entries carry stable sequence numbers so a change edits single entries and the
ACL is never absent while it is bound (an unbound or empty ACL on most switches permits all).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

Action = Literal["permit", "deny"]
Proto = Literal["ip", "tcp", "udp", "icmp"]
PROTOS: tuple[str, ...] = ("ip", "tcp", "udp", "icmp")
DENY_ALL_SEQ = 10000  # the closing entry; permits live below it
MAX_SEQ = DENY_ALL_SEQ - 1

Net = ipaddress.IPv4Network
ANY = ipaddress.IPv4Network("0.0.0.0/0")


@dataclass(frozen=True, order=True)
class Entry:
    seq: int
    action: Action
    proto: Proto
    src: Net
    dst: Net
    port: int | None = None  # destination port, tcp/udp only

    def __post_init__(self) -> None:
        if not 1 <= self.seq <= DENY_ALL_SEQ:
            raise ValueError(f"sequence {self.seq} outside 1..{DENY_ALL_SEQ}")
        if self.action not in ("permit", "deny"):
            raise ValueError(f"action must be permit or deny, not {self.action!r}")
        if self.proto not in PROTOS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOS)}, not {self.proto!r}")
        if self.port is not None:
            if self.proto not in ("tcp", "udp"):
                raise ValueError(f"a port needs tcp or udp, not {self.proto}")
            if not 1 <= self.port <= 65535:
                raise ValueError(f"port {self.port} outside 1..65535")

    def matches(self, proto: str, src: ipaddress.IPv4Address, dst: ipaddress.IPv4Address,
                port: int | None) -> bool:
        if self.proto != "ip" and self.proto != proto:
            return False
        if src not in self.src or dst not in self.dst:
            return False
        return self.port is None or self.port == port


@dataclass(frozen=True)
class Acl:
    """One VLAN's isolation ACL; ``entries`` sorted by sequence, unique sequences."""

    vlan: int
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        entries = tuple(sorted(self.entries))
        seqs = [e.seq for e in entries]
        if len(seqs) != len(set(seqs)):
            raise ValueError(f"VLAN {self.vlan}: duplicate ACL sequence numbers")
        object.__setattr__(self, "entries", entries)

    def by_seq(self) -> dict[int, Entry]:
        return {e.seq: e for e in self.entries}

    def decide(self, proto: str, src: ipaddress.IPv4Address, dst: ipaddress.IPv4Address,
               port: int | None) -> Action:
        for entry in self.entries:
            if entry.matches(proto, src, dst, port):
                return entry.action
        return "deny"  # every vendor ends a bound ACL with an implicit deny


# What a device holds: VLAN id -> the ACL bound inbound on its SVI (absent: no ACL bound).
DeviceAcls = dict[int, Acl]


def network(text: str) -> Net:
    """``10.0.0.10`` (a host) or ``10.0.0.0/24``; host bits set are refused."""
    return ipaddress.IPv4Network(text if "/" in text else f"{text}/32", strict=True)


def wildcard(net: Net) -> str:
    return str(net.hostmask)


def acls_to_json(acls: DeviceAcls) -> dict[str, list[list]]:
    """``{"110": [[seq, action, proto, src, dst, port], ...]}``: the wire and database form."""
    return {str(vlan): [[e.seq, e.action, e.proto, str(e.src), str(e.dst), e.port] for e in acl.entries]
            for vlan, acl in sorted(acls.items())}


def acls_from_json(doc: object) -> DeviceAcls:
    """The inverse of ``acls_to_json``; anything malformed raises ValueError."""
    if not isinstance(doc, dict):
        raise ValueError("ACLs must be an object of VLAN id -> entries")
    out: DeviceAcls = {}
    for key, rows in doc.items():
        vlan = int(key)
        if not isinstance(rows, list):
            raise ValueError(f"VLAN {vlan}: entries must be a list")
        entries = []
        for row in rows:
            if not isinstance(row, list) or len(row) != 6:
                raise ValueError(f"VLAN {vlan}: an entry must be [seq, action, proto, src, dst, port]")
            seq, action, proto, src, dst, port = row
            if not isinstance(seq, int) or (port is not None and not isinstance(port, int)):
                raise ValueError(f"VLAN {vlan}: sequence and port must be integers")
            entries.append(Entry(seq, action, proto, ipaddress.IPv4Network(src, strict=True),
                                 ipaddress.IPv4Network(dst, strict=True), port))
        out[vlan] = Acl(vlan, tuple(entries))
    return out
