"""Remote work over WireGuard: the exact gateway lines a peer change runs, as a customer signs them.

A remote annotator's device is a WireGuard peer: its public key and one /32 inside its customer's
remote range. Adding a peer renders to one ``wg set`` line (the peer and its allowed-ips) and the
nftables rules that let that /32 reach only its customer's VLAN subnets and the platform
addresses; removing it renders to the ``wg set ... remove`` line and the same rules marked as
withdrawn. The customer signs these lines through ``network_policy.approval`` (device name
``vpn:<interface>``), exactly as for an ACL change.

The gateway's ruleset is one nftables table, rebuilt from the active peers' signed rule lines (in
address order) between a fixed head and tail: whatever comes from the tunnel and matches no
peer's rule is dropped and counted, and nothing may open a connection into the tunnel. WireGuard
drops inner packets whose source is outside the peer's allowed-ips, so matching ``ip saddr`` on
the tunnel interface identifies the peer.

Pure functions over plain data; nothing here runs a command.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TABLE = "siteguard_vpn"
# What WireGuard adds to each inner packet on the underlay: the outer IP header (20 bytes IPv4,
# 40 IPv6), UDP 8, its data header 16 and the Poly1305 tag 16.
OVERHEAD_IPV4, OVERHEAD_IPV6 = 60, 80
DOWN_AFTER_S = 180  # a peer with keepalive whose last handshake is older than this is down
_IFACE = re.compile(r"[a-z][a-z0-9_-]{0,14}")


class PeerError(ValueError):
    """A peer that must not be rendered; ``reason`` is a short stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Peer:
    public_key: str  # base64 of 32 bytes, as `wg` prints it
    address: ipaddress.IPv4Address  # the peer's /32 inside its customer's remote range
    customer: str


@dataclass(frozen=True)
class Reach:
    """What one customer's remote peers may reach: its VLAN subnets and the platform addresses."""
    customer: str
    remote_range: ipaddress.IPv4Network
    vlans: tuple[ipaddress.IPv4Network, ...]
    platform: tuple[ipaddress.IPv4Address, ...]
    allowed: bool = True


def device_name(interface: str) -> str:
    """The name the gateway's lines carry in a signed change (switch ids cannot contain ':')."""
    return f"vpn:{interface}"


def check_key(text: str) -> str:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PeerError("bad_key", "the public key is not base64") from None
    if len(raw) != 32 or base64.b64encode(raw).decode() != text:
        raise PeerError("bad_key", "the public key must be 32 bytes in canonical base64")
    return text


def check_peer(peer: Peer, reach: Reach) -> None:
    """Raise ``PeerError`` unless ``peer`` may be rendered for its customer."""
    check_key(peer.public_key)
    if peer.customer != reach.customer:
        raise PeerError("wrong_customer", f"peer of {peer.customer} checked against {reach.customer}")
    if not reach.allowed:
        raise PeerError("remote_denied", f"customer {reach.customer} does not allow remote work")
    net = reach.remote_range
    if peer.address not in net or peer.address in (net.network_address, net.broadcast_address):
        raise PeerError("outside_range", f"{peer.address} is not a host address of {reach.customer}'s remote range {net}")


def _destinations(reach: Reach) -> str:
    items = sorted({*reach.vlans, *(ipaddress.IPv4Network(a) for a in reach.platform)},
                   key=lambda n: (int(n.network_address), n.prefixlen))
    if not items:
        raise PeerError("nothing_to_reach", f"customer {reach.customer} has no VLAN and the site no platform address")
    text = ", ".join(str(n.network_address) if n.prefixlen == 32 else str(n) for n in items)
    return f"{{ {text} }}"


def rule_lines(interface: str, peer: Peer, reach: Reach) -> list[str]:
    """The nftables rules (inside the ``forward`` chain) that admit this peer's /32 only to its
    customer's VLANs and the platform; the comment ties each rule to the peer's key."""
    check_peer(peer, reach)
    return [f'iifname "{interface}" ip saddr {peer.address} ip daddr {_destinations(reach)} counter accept '
            f'comment "{peer.customer} {peer.public_key}"']


def add_lines(interface: str, peer: Peer, reach: Reach) -> list[str]:
    """What a customer signs to add (or change) a peer: the wg line, then its nftables rules."""
    rules = rule_lines(interface, peer, reach)
    return [f"wg set {interface} peer {peer.public_key} allowed-ips {peer.address}/32", *(f"nft {r}" for r in rules)]


def remove_lines(interface: str, peer: Peer, reach: Reach) -> list[str]:
    """What a customer signs to remove a peer: the wg removal, then the rules withdrawn."""
    rules = rule_lines(interface, peer, reach)
    return [f"wg set {interface} peer {peer.public_key} remove", *(f"nft withdraw {r}" for r in rules)]


def rotate_lines(interface: str, old: Peer, new: Peer, reach: Reach) -> list[str]:
    """What a customer signs to replace a peer's key at the same /32, as one change: the new key's
    lines, then the old key's removal. ``wg set`` moves the /32 to the new key at once (an
    allowed-ip belongs to one peer), so the address is never unrouted."""
    if old.public_key == new.public_key:
        raise PeerError("same_key", "a rotation needs a new key")
    if (old.address, old.customer) != (new.address, new.customer):
        raise PeerError("not_same_peer", "a rotation keeps the peer's customer and address")
    return [*add_lines(interface, new, reach), *remove_lines(interface, old, reach)]


def tunnel_mtu(underlay_mtu: int, ipv4_only: bool = False) -> int:
    """The largest tunnel MTU whose packets fit the underlay unfragmented. Clients may come over
    IPv6 unless the gateway knows its underlay is IPv4 only, so IPv6's overhead by default."""
    return underlay_mtu - (OVERHEAD_IPV4 if ipv4_only else OVERHEAD_IPV6)


def mtu_problem(mtu: int, underlay: str, underlay_mtu: int, ipv4_only: bool = False) -> str | None:
    """Why a tunnel MTU does not fit its underlay (None: it fits). A tunnel packet larger than
    the underlay carries is fragmented or, with DF set, lost: large transfers stall while pings
    pass."""
    most = tunnel_mtu(underlay_mtu, ipv4_only)
    if mtu <= most:
        return None
    over = OVERHEAD_IPV4 if ipv4_only else OVERHEAD_IPV6
    return (f"tunnel MTU {mtu} does not fit the underlay {underlay} (MTU {underlay_mtu}): at most {most} "
            f"({over} bytes of WireGuard over {'IPv4' if ipv4_only else 'IPv6'}); set network.vpn.mtu to {most} or less")


def wg_argv(line: str) -> list[str]:
    """A rendered ``wg set`` line as argv (the lines hold no quoting)."""
    argv = line.split(" ")
    if argv[:2] != ["wg", "set"]:
        raise ValueError(f"not a wg set line: {line!r}")
    return argv


def ruleset(interface: str, peer_rules: Iterable[tuple[ipaddress.IPv4Address, Sequence[str]]]) -> str:
    """The gateway's whole table, for one atomic ``nft -f``: it replaces only this table.

    ``peer_rules``: (peer address, its signed rule lines) for every active peer."""
    if not _IFACE.fullmatch(interface):
        raise ValueError(f"{interface!r} is not an interface name")
    lines = [f"table inet {TABLE}", f"delete table inet {TABLE}", f"table inet {TABLE} {{",
             "\tchain forward {", "\t\ttype filter hook forward priority filter; policy accept;"]
    for _, rules in sorted(peer_rules, key=lambda pr: int(pr[0])):
        lines.extend(f"\t\t{r}" for r in rules)
    lines += [f'\t\tiifname "{interface}" counter drop comment "from the tunnel, no peer rule"',
              f'\t\toifname "{interface}" ct state established,related counter accept',
              f'\t\toifname "{interface}" counter drop comment "into the tunnel, not a reply"',
              "\t}", "\tchain input {", "\t\ttype filter hook input priority filter; policy accept;",
              f'\t\tiifname "{interface}" counter drop comment "the gateway itself is not reachable from the tunnel"',
              "\t}", "}", ""]
    return "\n".join(lines)


# --- status -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeerStatus:
    public_key: str
    endpoint: str | None
    allowed_ips: tuple[str, ...]
    latest_handshake: int  # unix seconds; 0 = never
    rx_bytes: int
    tx_bytes: int
    keepalive_s: int | None

    def handshake_age(self, now: float) -> float | None:
        return None if self.latest_handshake == 0 else max(0.0, now - self.latest_handshake)

    def down(self, now: float, expect_keepalive: bool = False) -> bool:
        """A peer that keeps its tunnel alive but has not shaken hands for DOWN_AFTER_S is down.
        The gateway does not see its clients' keepalive setting: ``expect_keepalive`` says the
        clients were given one (SiteGuard's client configs are)."""
        if self.keepalive_s is None and not expect_keepalive:
            return False
        age = self.handshake_age(now)
        return age is None or age > DOWN_AFTER_S


def parse_dump(text: str) -> tuple[dict[str, str], list[PeerStatus]]:
    """``wg show <if> dump``: the interface line (keys, port) and one status per peer."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ValueError("empty wg dump")
    head = lines[0].split("\t")
    if len(head) != 4:
        raise ValueError(f"unexpected interface line in wg dump: {len(head)} fields")
    iface = {"public_key": head[1], "listen_port": head[2], "fwmark": head[3]}
    peers = []
    for ln in lines[1:]:
        f = ln.split("\t")
        if len(f) != 8:
            raise ValueError(f"unexpected peer line in wg dump: {len(f)} fields")
        peers.append(PeerStatus(
            public_key=f[0], endpoint=None if f[2] == "(none)" else f[2],
            allowed_ips=tuple(x for x in f[3].split(",") if x and x != "(none)"),
            latest_handshake=int(f[4]), rx_bytes=int(f[5]), tx_bytes=int(f[6]),
            keepalive_s=None if f[7] == "off" else int(f[7])))
    return iface, peers
