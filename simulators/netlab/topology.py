"""Build and tear down a lab's namespaces, bridges and cables with pyroute2.

Layout: one switch namespace holding a bridge per segment (the VLAN) with the segment's gateway
on the bridge (the SVI), and one namespace per host whose only NIC is a veth whose other end is
a port of its segment's bridge. The switch routes between its bridges; nothing else does.
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pyroute2 import NetNS, netns

from . import nsexec
from .model import (HOST_IFACE, Host, LabError, Segment, bridge_name, host_ns, owned,
                    port_name, switch_ns)

# Switch namespace sysctls. Routing on. Bridge-netfilter off: with br_netfilter loaded the
# kernel defaults every new namespace to bridge-nf-call-*=1, which sends *bridged* frames
# through the IPv4/IPv6/ARP netfilter hooks (forward chain included, iifname = the bridge).
# A real switch never applies a routed ACL to traffic inside one VLAN, so neither does the lab.
SWITCH_SYSCTLS = {
    "net/ipv4/ip_forward": "1",
    "net/bridge/bridge-nf-call-iptables": "0",
    "net/bridge/bridge-nf-call-ip6tables": "0",
    "net/bridge/bridge-nf-call-arptables": "0",
}


def _off_loop(fn):
    """Run on a fresh thread: pyroute2's synchronous face drives its own asyncio loop and fails
    with "This event loop is already running" on a thread that already runs one (a process
    that also drives Playwright's synchronous API, say)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlab") as pool:
            return pool.submit(fn, *args, **kwargs).result()
    return run


@dataclass(frozen=True)
class Wiring:
    """Interface names the lab chose, for rules and diagnostics."""
    bridges: dict[str, str]  # segment name -> bridge in the switch namespace
    ports: dict[str, str]    # host name -> its cable's end in the switch namespace


def _index(ns: NetNS, ifname: str) -> int:
    found = ns.link_lookup(ifname=ifname)
    if not found:
        raise LabError(f"interface {ifname} vanished while building the lab")
    return found[0]


@_off_loop
def build(prefix: str, segments: list[Segment], hosts: list[Host]) -> Wiring:
    """Create everything for `prefix` (after removing any leftovers of it); on failure remove
    what was made and raise LabError."""
    destroy(prefix)
    try:
        return _build(prefix, segments, hosts)
    except Exception as exc:
        destroy(prefix)
        if isinstance(exc, LabError):
            raise
        raise LabError(f"building lab {prefix}: {exc}") from exc


def _build(prefix: str, segments: list[Segment], hosts: list[Host]) -> Wiring:
    sw = switch_ns(prefix)
    netns.create(sw)
    nsexec.sysctl_in(sw, SWITCH_SYSCTLS)
    bridges = {seg.name: bridge_name(prefix, i, seg) for i, seg in enumerate(segments)}
    ports = {host.name: port_name(prefix, i, host) for i, host in enumerate(hosts)}
    gateways = {seg.name: seg.interface for seg in segments}
    for host in hosts:
        netns.create(host_ns(prefix, host.name))
    with NetNS(sw) as ns:
        ns.link("set", index=_index(ns, "lo"), state="up")
        for seg in segments:
            ns.link("add", ifname=bridges[seg.name], kind="bridge")
            idx = _index(ns, bridges[seg.name])
            gw = seg.interface
            ns.addr("add", index=idx, address=str(gw.ip), prefixlen=gw.network.prefixlen)
            ns.link("set", index=idx, state="up")
        for i, host in enumerate(hosts):
            # Both ends are born in the switch namespace (never in the root one), then the
            # host's end moves out; it is renamed to eth0 on arrival.
            temp = f"{prefix}-t{i}"[:15]
            ns.link("add", ifname=ports[host.name], kind="veth", peer={"ifname": temp})
            ns.link("set", index=_index(ns, temp), net_ns_fd=host_ns(prefix, host.name))
            ns.link("set", index=_index(ns, ports[host.name]),
                    master=_index(ns, bridges[host.segment]), state="up")
    for i, host in enumerate(hosts):
        with NetNS(host_ns(prefix, host.name)) as ns:
            ns.link("set", index=_index(ns, "lo"), state="up")
            idx = _index(ns, f"{prefix}-t{i}"[:15])
            ns.link("set", index=idx, ifname=HOST_IFACE)
            ns.addr("add", index=idx, address=str(host.interface.ip),
                    prefixlen=host.interface.network.prefixlen)
            ns.link("set", index=idx, state="up")
            ns.route("add", dst="default", gateway=str(gateways[host.segment].ip))
    return Wiring(bridges=bridges, ports=ports)


@_off_loop
def namespaces(prefix: str) -> list[str]:
    return sorted(name for name in netns.listnetns() if owned(prefix, name))


@_off_loop
def destroy(prefix: str) -> list[str]:
    """Remove every namespace of `prefix` (their links go with them); safe to repeat."""
    removed = []
    sw = switch_ns(prefix)
    # Hosts first, so the switch never sees a half-removed cable as the last thing alive.
    for name in sorted(namespaces(prefix), key=lambda n: n == sw):
        try:
            netns.remove(name)
        except FileNotFoundError:
            continue  # removed concurrently: the goal is reached anyway
        removed.append(name)
    return removed
