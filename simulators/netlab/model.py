"""What a lab is made of (segments and hosts) and the names it gives them in the kernel.

Every namespace is `<prefix>-<role>`, so one prefix owns a disjoint slice of `ip netns list`
and `down --prefix` / stale cleanup can find everything by name alone. Links are created
inside the lab's own namespaces and never exist in the root namespace, so two labs cannot
collide on interface names even though those are limited to 15 characters.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IFNAMSIZ = 15  # usable characters in a Linux interface name
_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,7}$")
_NAME = re.compile(r"^[A-Za-z0-9_]{1,24}$")
HOST_IFACE = "eth0"  # a workstation's NIC; alone in its namespace, so no prefix needed


class LabError(Exception):
    """The lab's description is inconsistent, or building it failed."""


@dataclass(frozen=True)
class Segment:
    """One customer VLAN: a bridge in the switch namespace; `gateway` (CIDR) is its SVI."""
    name: str
    gateway: str
    vlan: int | None = None  # the 802.1Q id it stands for, when known

    @property
    def interface(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(self.gateway)


@dataclass(frozen=True)
class Host:
    """A workstation or server in its own namespace, cabled to `segment`'s bridge."""
    name: str
    segment: str
    address: str

    @property
    def interface(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(self.address)


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix or ""):
        raise LabError(f"prefix {prefix!r}: want 1-8 characters, a lowercase letter then "
                       f"lowercase letters or digits")
    return prefix


def switch_ns(prefix: str) -> str:
    return f"{prefix}-sw"


def host_ns(prefix: str, host: str) -> str:
    return f"{prefix}-h-{host}"


def owned(prefix: str, nsname: str) -> bool:
    """True for namespaces of this prefix; the dash keeps `sgl` from matching `sgl1-sw`."""
    return nsname.startswith(prefix + "-")


def _ifname(prefix: str, label: str, fallback: str) -> str:
    name = f"{prefix}-{label}"
    return name if len(name) <= IFNAMSIZ else f"{prefix}-{fallback}"


def bridge_name(prefix: str, index: int, segment: Segment) -> str:
    return _ifname(prefix, segment.name, f"s{index}")


def port_name(prefix: str, index: int, host: Host) -> str:
    """The switch-side end of a host's cable."""
    return _ifname(prefix, host.name, f"p{index}")


def validate(segments: list[Segment], hosts: list[Host]) -> None:
    """Refuse descriptions the kernel would reject half-way through building them."""
    seen: dict[str, Segment] = {}
    nets = []
    for seg in segments:
        if not _NAME.match(seg.name):
            raise LabError(f"segment name {seg.name!r}: letters, digits and _ only")
        if seg.name in seen:
            raise LabError(f"segment {seg.name} is defined twice")
        try:
            net = seg.interface.network
        except ValueError as exc:
            raise LabError(f"segment {seg.name}: gateway {seg.gateway!r}: {exc}") from None
        for other, onet in nets:
            if net.overlaps(onet):
                raise LabError(f"segment {seg.name} ({net}) overlaps {other} ({onet})")
        nets.append((seg.name, net))
        seen[seg.name] = seg
    vids = [seg.vlan for seg in segments if seg.vlan is not None]
    if len(vids) != len(set(vids)):
        raise LabError("two segments stand for the same VLAN id")
    names: set[str] = set()
    addrs = {seg.interface.ip: f"segment {seg.name}'s gateway" for seg in segments}
    for host in hosts:
        if not _NAME.match(host.name):
            raise LabError(f"host name {host.name!r}: letters, digits and _ only")
        if host.name in names:
            raise LabError(f"host {host.name} is defined twice")
        names.add(host.name)
        seg = seen.get(host.segment)
        if seg is None:
            raise LabError(f"host {host.name}: no segment named {host.segment!r}")
        try:
            iface = host.interface
        except ValueError as exc:
            raise LabError(f"host {host.name}: address {host.address!r}: {exc}") from None
        if iface.network != seg.interface.network:
            raise LabError(f"host {host.name}: {iface} is not in segment {seg.name} "
                           f"({seg.interface.network})")
        if iface.ip in addrs:
            raise LabError(f"host {host.name}: {iface.ip} is already {addrs[iface.ip]}")
        addrs[iface.ip] = f"host {host.name}"
