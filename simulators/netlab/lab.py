"""The lab as one object: describe it, `up()`, probe it, load ACL rulesets, `down()`."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import config, nsexec, probes, ruleset, site, topology
from .model import Host, LabError, Segment, check_prefix, host_ns, switch_ns, validate
from .topology import Wiring

# A probe is (source host, destination) for ping, or (source, destination, port[, proto]).
Probe = tuple


class Lab:
    """A site's access network in namespaces: a routing "switch" with one bridge per segment,
    one namespace per host. Needs root. Usable as a context manager."""

    def __init__(self, prefix: str, segments: Iterable[Segment], hosts: Iterable[Host]) -> None:
        self.prefix = check_prefix(prefix)
        segments, hosts = list(segments), list(hosts)
        validate(segments, hosts)
        self.segments = {seg.name: seg for seg in segments}
        self.hosts = {host.name: host for host in hosts}
        self.customers: dict[str, list[str]] = {}
        self._wiring: Wiring | None = None
        self._listeners: list[probes.Listener] = []

    @classmethod
    def from_site(cls, path: str | Path, prefix: str, workstations: int = 2) -> "Lab":
        """One segment per customer VLAN (`ws<vlan>_<n>` workstations) and the platform's
        segment (hosts `plat` and `dns`); see simulators.netlab.site."""
        lay = site.layout(path, workstations)
        lab = cls(prefix, lay.segments, lay.hosts)
        lab.customers = lay.customers
        return lab

    @classmethod
    def from_config(cls, path: str | Path, prefix: str | None = None) -> "Lab":
        """A lab described by a YAML file; see simulators.netlab.config."""
        conf = config.load(path)
        return cls(prefix or conf.prefix, conf.segments, conf.hosts)

    # --- life cycle --------------------------------------------------------------------------
    def up(self) -> "Lab":
        """Build the lab, first removing anything an earlier run left under the same prefix."""
        self._stop_listeners()
        self._wiring = topology.build(self.prefix, list(self.segments.values()),
                                      list(self.hosts.values()))
        return self

    def down(self) -> None:
        """Stop listeners and remove every namespace of the prefix; safe to call repeatedly."""
        self._stop_listeners()
        topology.destroy(self.prefix)
        self._wiring = None

    def __enter__(self) -> "Lab":
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    @property
    def is_up(self) -> bool:
        return self._wiring is not None

    # --- names -------------------------------------------------------------------------------
    @property
    def switch_ns(self) -> str:
        return switch_ns(self.prefix)

    def ns_of(self, host: str) -> str:
        if host not in self.hosts:
            raise LabError(f"no host named {host!r}")
        return host_ns(self.prefix, host)

    def iface_of(self, segment: str) -> str:
        """The segment's bridge in the switch namespace (its SVI): the name nft rules match
        with iifname / oifname."""
        if segment not in self.segments:
            raise LabError(f"no segment named {segment!r}")
        return self._need_up().bridges[segment]

    def vlan_ifmap(self) -> dict[int, str]:
        """VLAN id -> bridge name for segments that carry one, e.g. for
        simulators.switch.nft.ruleset(state, ifmap)."""
        return {seg.vlan: self.iface_of(seg.name) for seg in self.segments.values()
                if seg.vlan is not None}

    def address_of(self, target: str) -> str:
        """A host's address, or `target` itself when it is already an IPv4 address."""
        if target in self.hosts:
            return str(self.hosts[target].interface.ip)
        try:
            return str(ipaddress.IPv4Address(target))
        except ValueError:
            raise LabError(f"{target!r} is neither a host of the lab nor an IPv4 address") from None

    def _need_up(self) -> Wiring:
        if self._wiring is None:
            raise LabError(f"lab {self.prefix} is not up")
        return self._wiring

    # --- the switch's ACLs -------------------------------------------------------------------
    def load_ruleset(self, text: str) -> None:
        """Make `text` the switch's whole nftables ruleset, atomically; RulesetError (with
        nft's message) leaves the previous one in force."""
        self._need_up()
        # br_netfilter may have been loaded since up(), arriving with bridge-nf-call-*=1 in
        # every namespace; switch it off again so bridged traffic stays out of the ruleset.
        nsexec.sysctl_in(self.switch_ns, topology.SWITCH_SYSCTLS)
        ruleset.load(self.switch_ns, text)

    def clear_ruleset(self) -> None:
        self.load_ruleset("")

    def ruleset(self) -> str:
        self._need_up()
        return ruleset.current(self.switch_ns)

    # --- traffic -----------------------------------------------------------------------------
    def listen(self, host: str, port: int, proto: str = "tcp") -> probes.Listener:
        """Serve `port` on `host` until down(): TCP accepts and closes, UDP echoes."""
        self._need_up()
        listener = probes.Listener(self.ns_of(host), port, proto)
        self._listeners.append(listener)
        return listener

    def ping(self, src: str, dst: str, count: int = 1, timeout: float = 1.0) -> bool:
        self._need_up()
        return probes.ping(self.ns_of(src), self.address_of(dst), count, timeout)

    def tcp_connect(self, src: str, dst: str, port: int, timeout: float = 1.0) -> bool:
        self._need_up()
        return probes.tcp_connect(self.ns_of(src), self.address_of(dst), port, timeout)

    def udp_probe(self, src: str, dst: str, port: int, timeout: float = 1.0) -> bool:
        self._need_up()
        return probes.udp_probe(self.ns_of(src), self.address_of(dst), port, timeout)

    def probe(self, p: Probe, timeout: float = 1.0) -> bool:
        src, dst, *rest = p
        if not rest:
            return self.ping(src, dst, timeout=timeout)
        port, proto = rest[0], (rest[1] if len(rest) > 1 else "tcp")
        if proto == "udp":
            return self.udp_probe(src, dst, port, timeout)
        return self.tcp_connect(src, dst, port, timeout)

    def reachability(self, pairs: Iterable[Probe], timeout: float = 1.0) -> dict[Probe, bool]:
        """Run probes side by side (a blocked one costs `timeout`); result per probe tuple."""
        pairs = [tuple(p) for p in pairs]
        with ThreadPoolExecutor(max_workers=min(16, max(1, len(pairs)))) as pool:
            results = list(pool.map(lambda p: self.probe(p, timeout), pairs))
        return dict(zip(pairs, results))

    def _stop_listeners(self) -> None:
        while self._listeners:
            self._listeners.pop().stop()
