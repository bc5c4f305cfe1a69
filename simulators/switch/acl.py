"""Extended IPv4 ACL entries, vendor-neutral: what a rule matches, not how a vendor spells it."""
from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass

ANY = None  # an address match of None is "any"

# Well-known port names a switch accepts on input and shows on output (IOS and VRP share most).
TCP_PORTS = {"ftp-data": 20, "ftp": 21, "telnet": 23, "smtp": 25, "domain": 53, "www": 80,
             "pop3": 110, "bgp": 179}
UDP_PORTS = {"domain": 53, "bootps": 67, "bootpc": 68, "tftp": 69, "ntp": 123, "snmp": 161,
             "syslog": 514}
PORT_NAMES = {**UDP_PORTS, **TCP_PORTS}


def port_number(text: str) -> int:
    if text.isdigit() and int(text) <= 65535:
        return int(text)
    return PORT_NAMES[text.lower()]


def port_label(protocol: str, port: int) -> str:
    names = TCP_PORTS if protocol == "tcp" else UDP_PORTS
    for name, number in names.items():
        if number == port:
            return name
    return str(port)


@dataclass(frozen=True)
class AddrMatch:
    """An address with a Cisco-style wildcard (bits set = don't care)."""
    address: str
    wildcard: str

    @classmethod
    def make(cls, address: str, wildcard: str) -> "AddrMatch | None":
        # Devices store the address with the don't-care bits cleared, and fold the two
        # degenerate cases into "host" and "any"; do the same so configs compare equal.
        a, w = int(ipaddress.IPv4Address(address)), int(ipaddress.IPv4Address(wildcard))
        if w == 0xFFFFFFFF:
            return ANY
        return cls(str(ipaddress.IPv4Address(a & ~w & 0xFFFFFFFF)), wildcard)

    @property
    def is_host(self) -> bool:
        return self.wildcard == "0.0.0.0"

    @property
    def prefix(self) -> int | None:
        """Prefix length when the wildcard is contiguous (0.0.0.255 -> 24), else None."""
        inv = ~int(ipaddress.IPv4Address(self.wildcard)) & 0xFFFFFFFF
        bits = bin(inv)[2:].zfill(32)
        return bits.count("1") if "01" not in bits else None

    def matches(self, addr: str) -> bool:
        a, w = int(ipaddress.IPv4Address(addr)), int(ipaddress.IPv4Address(self.wildcard))
        return (a & ~w) == (int(ipaddress.IPv4Address(self.address)) & ~w)


@dataclass(frozen=True)
class PortMatch:
    op: str   # "eq" or "range"
    lo: int
    hi: int

    def matches(self, port: int) -> bool:
        return self.lo <= port <= self.hi


@dataclass(frozen=True)
class AclRule:
    seq: int
    action: str                    # permit | deny | remark
    protocol: str = "ip"           # ip | tcp | udp | icmp
    src: AddrMatch | None = ANY
    dst: AddrMatch | None = ANY
    src_port: PortMatch | None = None
    dst_port: PortMatch | None = None
    remark: str | None = None

    def same_match(self, other: "AclRule") -> bool:
        """Equal apart from the sequence number (IOS `no permit ...` deletes by content)."""
        return (self.action, self.protocol, self.src, self.dst, self.src_port, self.dst_port,
                self.remark) == (other.action, other.protocol, other.src, other.dst,
                                 other.src_port, other.dst_port, other.remark)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AclRule":
        def addr(v):
            return AddrMatch(**v) if v else None

        def port(v):
            return PortMatch(**v) if v else None
        return cls(seq=d["seq"], action=d["action"], protocol=d.get("protocol", "ip"),
                   src=addr(d.get("src")), dst=addr(d.get("dst")),
                   src_port=port(d.get("src_port")), dst_port=port(d.get("dst_port")),
                   remark=d.get("remark"))


def make_rule(seq: int, action: str, protocol: str, args: dict) -> AclRule:
    """Build a rule from a parsed entry. Both dialects' grammars name their parameters the same
    way: sh/da.. host or address, sw/dw wildcard, sp/dp port (sp2/dp2 the top of a range)."""
    def addr(host: str, net: str, wild: str):
        if host in args:
            return AddrMatch(args[host], "0.0.0.0")
        if net in args:
            return AddrMatch.make(args[net], args[wild])
        return ANY

    def port(lo: str, hi: str):
        if lo not in args:
            return None
        if hi in args:
            a, b = sorted((args[lo], args[hi]))
            return PortMatch("range", a, b)
        return PortMatch("eq", args[lo], args[lo])
    return AclRule(seq=seq, action=action, protocol=protocol, src=addr("sh", "sa", "sw"),
                   dst=addr("dh", "da", "dw"), src_port=port("sp", "sp2"),
                   dst_port=port("dp", "dp2"))
