"""A default lab for a site file: one segment per customer VLAN plus the platform's segment.

Reads the site file as plain YAML (simulators share no code with the project). Only
`customers[].vlans[]` (`id`, `subnet`, optional `gateway`) is used, plus an optional
`platform:` mapping with any of `vlan`, `subnet`, `gateway`, `address`, `dns` overriding
PLATFORM_DEFAULTS.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .model import Host, LabError, Segment

PLATFORM_DEFAULTS = {"vlan": 100, "subnet": "10.0.0.0/24", "gateway": None,
                     "address": "10.0.0.10", "dns": "10.0.0.53"}
PLATFORM_HOST, DNS_HOST = "plat", "dns"


@dataclass
class SiteLayout:
    segments: list[Segment]
    hosts: list[Host]
    vlans: dict[int, str]                                      # VLAN id -> segment name
    customers: dict[str, list[str]] = field(default_factory=dict)  # customer -> its hosts


def _gateway_iface(net: ipaddress.IPv4Network, gateway: str | None) -> ipaddress.IPv4Interface:
    gw = ipaddress.IPv4Address(gateway) if gateway else next(net.hosts())  # first host address
    if gw not in net:
        raise LabError(f"gateway {gw} is outside {net}")
    return ipaddress.IPv4Interface(f"{gw}/{net.prefixlen}")


def _workstations(net: ipaddress.IPv4Network, gw: ipaddress.IPv4Address,
                  count: int) -> list[ipaddress.IPv4Address]:
    """.11, .12, ... as on a typical floor; the top of the range in subnets too small for that."""
    usable = [a for a in net.hosts() if a != gw]
    wanted = [net.network_address + 10 + n for n in range(1, count + 1)]
    if all(a in usable for a in wanted):
        return wanted
    if len(usable) < count:
        raise LabError(f"{net} has no room for {count} workstations")
    return usable[-count:]


def layout(path: str | Path, workstations: int = 2) -> SiteLayout:
    try:
        doc = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LabError(f"site file {path}: {exc}") from None
    segments: list[Segment] = []
    hosts: list[Host] = []
    vlans: dict[int, str] = {}
    customers: dict[str, list[str]] = {}
    try:
        for cust in doc.get("customers") or []:
            for vlan in cust.get("vlans") or []:
                vid, net = int(vlan["id"]), ipaddress.IPv4Network(vlan["subnet"])
                gw = _gateway_iface(net, vlan.get("gateway"))
                seg = Segment(name=f"v{vid}", gateway=str(gw), vlan=vid)
                segments.append(seg)
                vlans[vid] = seg.name
                for n, addr in enumerate(_workstations(net, gw.ip, workstations), start=1):
                    host = Host(name=f"ws{vid}_{n}", segment=seg.name,
                                address=f"{addr}/{net.prefixlen}")
                    hosts.append(host)
                    customers.setdefault(str(cust["id"]), []).append(host.name)
        plat = {**PLATFORM_DEFAULTS, **(doc.get("platform") or {})}
        vid, net = int(plat["vlan"]), ipaddress.IPv4Network(plat["subnet"])
        gw = _gateway_iface(net, plat["gateway"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LabError(f"site file {path}: cannot read the networks: {exc!r}") from None
    if vid in vlans:
        raise LabError(f"site file {path}: platform VLAN {vid} is also a customer VLAN")
    segments.append(Segment(name=f"v{vid}", gateway=str(gw), vlan=vid))
    vlans[vid] = f"v{vid}"
    for name, addr in ((PLATFORM_HOST, plat["address"]), (DNS_HOST, plat["dns"])):
        if addr:
            hosts.append(Host(name=name, segment=f"v{vid}", address=f"{addr}/{net.prefixlen}"))
    return SiteLayout(segments=segments, hosts=hosts, vlans=vlans, customers=customers)
