"""The edge's WireGuard gateway for remote work: verify a peer change, then run it; revoke at once.

Trust comes from the site file on the edge's own disk, as for ACL changes (``edge_agent.network``):
which customer owns which remote range and VLANs, whether it allows remote work, and its approval
key. ``check_peer_change`` (pure) re-renders the change's lines from that file and the stated peer
and requires them to equal the signed lines and every approval to verify, before the driver is
touched at all; a refusal leaves the gateway exactly as it was.

The gateway's state is kept here (the active peers with their signed rule lines) and pushed whole:
``wg set`` per peer and one atomic ``nft -f`` of the gateway's own table. A daemon that dies is
restarted by the supervisor and given the whole state again.

A revocation for security (a lost laptop) is an officer's action: immediate, no customer
signature, reported as a ``vpn.peer_revoked`` event (ledgered by the controller).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from edge_agent.secrets import secret_of
from edge_agent.store import EdgeStore
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import AlarmKind, EventKind
from edge_agent.wire.site import SiteConfig, VpnGateway
from network_policy import vpn
from network_policy.approval import Approval, ApprovalError, verify_change

log = logging.getLogger("siteguard.edge.vpn")

PEERS_KEY = "vpn_peers"  # public key -> {"address", "customer", "rules"}: the active peers
APPLIED_KEY = "vpn_applied_changes"
HEALTH_EVERY_S = 10.0  # how often the supervisor reads the peers' handshakes for the down alarm


# --- the trust boundary (pure) ------------------------------------------------------------------

def reach_of(site: SiteConfig, customer: str) -> vpn.Reach:
    gw = site.network.vpn
    found = next((c for c in site.customers if c.id == customer), None)
    if gw is None:
        raise ApprovalError("no_gateway", "this site has no VPN gateway (network.vpn)")
    if found is None:
        raise ApprovalError("unknown_customer", f"{customer!r} is not a customer of this site")
    if found.remote is None:
        raise ApprovalError("remote_denied", f"customer {customer} has no remote range on this site")
    return vpn.Reach(customer, found.remote.range, tuple(v.subnet for v in found.vlans), gw.platform,
                     found.remote.allowed)


def check_peer_change(payload: Mapping[str, Any], site: SiteConfig, active: Mapping[str, Mapping[str, Any]],
                      used: set[str], now: dt.datetime) -> tuple[str, vpn.Peer, list[str]]:
    """(action, peer, signed lines) of a verified peer change; ``ApprovalError`` says why not.

    payload: {"change", "action": "add"|"remove"|"rotate", "peer": {"public_key", "address",
    "customer"}, "lines": [...], "approvals": [...]}; a rotation also names the key it
    ``replaces`` (an active peer of the same customer at the same address)."""
    change_id, action, spec = payload.get("change"), payload.get("action"), payload.get("peer")
    if not isinstance(change_id, str) or not 0 < len(change_id) <= 40:
        raise ApprovalError("malformed", "a change needs an id of 1-40 characters")
    if action not in ("add", "remove", "rotate") or not isinstance(spec, dict):
        raise ApprovalError("malformed", "action must be add, remove or rotate, with a peer")
    try:
        peer = vpn.Peer(str(spec["public_key"]), ipaddress.IPv4Address(str(spec["address"])), str(spec["customer"]))
    except (KeyError, ValueError) as exc:
        raise ApprovalError("malformed", f"peer: {exc}") from None
    gw = site.network.vpn
    reach = reach_of(site, peer.customer)
    assert gw is not None
    try:
        vpn.check_peer(peer, reach) if action != "remove" else vpn.check_key(peer.public_key)
        if action == "add":
            lines = vpn.add_lines(gw.interface, peer, reach)
        elif action == "remove":  # taking a peer away is always possible, even where remote work is now denied
            lines = vpn.remove_lines(gw.interface, peer, dataclasses.replace(reach, allowed=True))
        else:
            old = _replaced(payload, peer, active)
            lines = vpn.rotate_lines(gw.interface, old, peer, reach)
    except vpn.PeerError as exc:
        raise ApprovalError(exc.reason, exc.detail) from None
    current = active.get(peer.public_key)
    if action == "rotate":
        if current is not None:
            raise ApprovalError("key_in_use", "the new key is already a peer on the gateway")
    elif action == "add":
        clash = next((k for k, p in active.items() if p["address"] == str(peer.address) and k != peer.public_key), None)
        if clash is not None:
            raise ApprovalError("address_in_use", f"{peer.address} belongs to another peer")
        if current is not None and current["customer"] != peer.customer:
            raise ApprovalError("foreign_peer", "this key is another customer's peer")
    elif current is None or current["customer"] != peer.customer or current["address"] != str(peer.address):
        raise ApprovalError("unknown_peer", "no such peer of this customer on the gateway")
    if payload.get("lines") != lines:
        raise ApprovalError("commands_mismatch", "the lines are not what this peer change renders to here")
    raw = payload.get("approvals")
    if not isinstance(raw, list):
        raise ApprovalError("malformed", "approvals must be a list")
    try:
        approvals = [Approval(str(a["change_id"]), str(a["customer"]), str(a["expires"]), str(a["signature"]))
                     for a in raw]
    except (KeyError, TypeError):
        raise ApprovalError("malformed", "an approval needs change_id, customer, expires and signature") from None
    keys = {c.id: c.approval_public_key for c in site.customers if c.approval_public_key}
    verify_change(change_id, {vpn.device_name(gw.interface): lines}, {peer.customer}, approvals, keys, now, used)
    return action, peer, lines


def _replaced(payload: Mapping[str, Any], new: vpn.Peer, active: Mapping[str, Mapping[str, Any]]) -> vpn.Peer:
    """The active peer a rotation replaces: same customer, same address."""
    key = vpn.check_key(str(payload.get("replaces", "")))
    current = active.get(key)
    if current is None or current["customer"] != new.customer or current["address"] != str(new.address):
        raise vpn.PeerError("unknown_peer", "the replaced key is no peer of this customer at this address")
    return vpn.Peer(key, new.address, new.customer)


# --- the driver ---------------------------------------------------------------------------------

class Gateway(Protocol):
    """The tunnel endpoint: a userspace daemon here, the kernel module on an appliance with it."""

    def start(self) -> None: ...
    def running(self) -> bool: ...
    def stop(self) -> None: ...
    def set_peer(self, argv: list[str]) -> None: ...
    def remove_peer(self, public_key: str) -> None: ...
    def load_ruleset(self, text: str) -> None: ...
    def dump(self) -> str: ...


class CommandError(RuntimeError):
    pass


def underlay_of(links: list[Mapping[str, Any]], default_dev: str | None, tunnel: str) -> tuple[str, int]:
    """(name, MTU) of the interface the tunnel's packets leave by: the default route's; with no
    default route, the smallest MTU among the other up interfaces (any of them may carry a
    client's packets). ``links``: ``ip -j link show up``."""
    by_name = {ln["ifname"]: int(ln["mtu"]) for ln in links
               if "mtu" in ln and "LOOPBACK" not in ln.get("flags", ())}
    if default_dev is not None and default_dev in by_name:
        return default_dev, by_name[default_dev]
    candidates = [(mtu, name) for name, mtu in by_name.items() if name != tunnel]
    if not candidates:
        raise CommandError("no interface is up to carry the tunnel")
    mtu, name = min(candidates)
    return name, mtu


class WireguardGo:
    """wireguard-go in the foreground (supervised by us), configured with ``wg``, addressed and
    routed with ``ip``, filtered with ``nft -f``. ``netns``: run everything inside that named
    network namespace (the lab); None on the appliance."""

    def __init__(self, conf: VpnGateway, private_key: str, routes: list[ipaddress.IPv4Network],
                 netns: str | None = None, binary: str = "wireguard-go") -> None:
        self.conf, self._key, self.routes, self.netns, self.binary = conf, private_key, routes, netns, binary
        self.iface = conf.interface
        self._proc: subprocess.Popen[bytes] | None = None

    def _argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv

    def _run(self, argv: list[str], stdin: str | None = None) -> str:
        done = subprocess.run(self._argv(argv), input=stdin, capture_output=True, text=True, timeout=15)
        if done.returncode != 0:
            raise CommandError(f"{' '.join(argv[:3])}: {done.stderr.strip() or done.returncode}")
        return done.stdout

    def underlay(self) -> tuple[str, int]:
        links = json.loads(self._run(["ip", "-j", "link", "show", "up"]) or "[]")
        default = None
        for family in ("-4", "-6"):
            routes = json.loads(self._run(["ip", "-j", family, "route", "show", "default"]) or "[]")
            default = default or next((r["dev"] for r in routes if r.get("dev")), None)
        return underlay_of(links, default, self.iface)

    def start(self) -> None:
        self._check_mtu()
        self._create()
        self._configure()

    def _check_mtu(self) -> None:
        # Checked before the interface exists: a tunnel MTU the underlay cannot carry is refused, not run.
        underlay, underlay_mtu = self.underlay()
        problem = vpn.mtu_problem(self.conf.mtu, underlay, underlay_mtu)
        if problem:
            raise CommandError(problem)
        log.info("VPN gateway %s: MTU %d; underlay %s has MTU %d, which carries a tunnel MTU up to %d",
                 self.iface, self.conf.mtu, underlay, underlay_mtu, vpn.tunnel_mtu(underlay_mtu))

    def _create(self) -> None:
        if shutil.which(self.binary) is None:
            raise CommandError(f"{self.binary} is not installed")
        sock = Path("/var/run/wireguard") / f"{self.iface}.sock"
        if _answers(sock):
            # A daemon of ours outlived the agent (killed hard: the daemon runs in its own session).
            # Deleting its interface makes it exit; the new one then takes the interface over.
            log.warning("a wireguard-go of %s from before this agent still runs; replacing it", self.iface)
            subprocess.run(self._argv(["ip", "link", "del", "dev", self.iface]), capture_output=True, timeout=15)
            gone = time.monotonic() + 5
            while _answers(sock) and time.monotonic() < gone:
                time.sleep(0.05)
        _drop_stale(sock)  # before the new daemon: its own socket must not be taken for a leftover
        self._proc = subprocess.Popen(self._argv([self.binary, "-f", self.iface]),
                                      env={**os.environ, "WG_PROCESS_FOREGROUND": "1", "LOG_LEVEL": "error"},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 10
        while not sock.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                self.stop()
                raise CommandError(f"{self.binary} {self.iface} did not start: {err.strip()[:300]}")
            time.sleep(0.02)

    def _configure(self) -> None:
        """Key, port, MTU and routes: the same lines for the userspace daemon and the kernel module."""
        # The key goes through a private temporary file: never on a command line.
        with tempfile.NamedTemporaryFile("w", prefix="wgkey", delete=True) as f:
            os.chmod(f.name, 0o600)
            f.write(self._key + "\n")
            f.flush()
            self._run(["wg", "set", self.iface, "listen-port", str(self.conf.listen_port), "private-key", f.name])
        self._run(["ip", "link", "set", "dev", self.iface, "mtu", str(self.conf.mtu), "up"])
        for net in self.routes:
            self._run(["ip", "route", "replace", str(net), "dev", self.iface])

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if proc.stderr:
            proc.stderr.close()

    def set_peer(self, argv: list[str]) -> None:
        self._run(argv)

    def remove_peer(self, public_key: str) -> None:
        self._run(["wg", "set", self.iface, "peer", public_key, "remove"])

    def load_ruleset(self, text: str) -> None:
        self._run(["nft", "-f", "-"], stdin=text)

    def dump(self) -> str:
        return self._run(["wg", "show", self.iface, "dump"])


class KernelWireguard(WireguardGo):
    """The kernel's WireGuard interface, where the module is loaded (an appliance's own kernel):
    the interface is a link of type ``wireguard`` instead of a daemon's tun device; the key, port,
    MTU, routes, peers and nftables lines are the same."""

    def _create(self) -> None:
        if self._exists():
            self._run(["ip", "link", "del", "dev", self.iface])  # a leftover of a crash: start clean
        self._run(["ip", "link", "add", "dev", self.iface, "type", "wireguard"])

    def _exists(self) -> bool:
        done = subprocess.run(self._argv(["ip", "link", "show", "dev", self.iface]), capture_output=True, timeout=15)
        return done.returncode == 0

    def running(self) -> bool:
        return self._exists()

    def stop(self) -> None:
        if self._exists():
            self._run(["ip", "link", "del", "dev", self.iface])


def make_gateway(conf: VpnGateway, private_key: str, routes: list[ipaddress.IPv4Network],
                 netns: str | None = None, kernel_module: Path = Path("/sys/module/wireguard")) -> WireguardGo:
    """The kernel interface where the module is loaded, else userspace wireguard-go."""
    kind = KernelWireguard if kernel_module.is_dir() else WireguardGo
    log.info("VPN gateway %s: %s", conf.interface, "kernel WireGuard" if kind is KernelWireguard else "wireguard-go")
    return kind(conf, private_key, routes, netns=netns)


def _answers(sock: Path) -> bool:
    """Whether a daemon listens on this UAPI socket."""
    if not sock.exists():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(sock))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _drop_stale(sock: Path) -> None:
    """A daemon killed hard leaves its UAPI socket behind; one nobody answers on is removed, so
    the wait for the new daemon's socket is real."""
    if not sock.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(sock))
    except ConnectionRefusedError:
        sock.unlink(missing_ok=True)
    except OSError:
        pass
    else:
        raise CommandError(f"{sock} is in use: another daemon runs an interface of this name")
    finally:
        probe.close()


def gateway_key(conf: VpnGateway, site_dir: Path = Path(".")) -> str:
    key = secret_of(conf, "private_key", site_dir)
    if not key:
        raise CommandError("the VPN gateway's private key is empty")
    return vpn.check_key(key.strip())


def _entry(peer: vpn.Peer, lines: list[str]) -> dict[str, Any]:
    """An active peer as kept in the store: its signed wg line and rule lines."""
    return {"address": str(peer.address), "customer": peer.customer, "wg": lines[0],
            "rules": [ln.removeprefix("nft ") for ln in lines[1:]]}


# --- the service --------------------------------------------------------------------------------

class VpnService:
    def __init__(self, trusted: SiteConfig, store: EdgeStore, gateway: Gateway,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        if trusted.network.vpn is None:
            raise ValueError("the site has no VPN gateway (network.vpn)")
        self.site, self.store, self.gateway, self.clock = trusted, store, gateway, clock
        self.iface = trusted.network.vpn.interface
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    def peers(self) -> dict[str, dict[str, Any]]:
        raw = self.store.get(PEERS_KEY)
        return json.loads(raw) if raw else {}

    def used_changes(self) -> set[str]:
        raw = self.store.get(APPLIED_KEY)
        return set(json.loads(raw)) if raw else set()

    def ruleset_text(self, peers: Mapping[str, Mapping[str, Any]] | None = None) -> str:
        peers = self.peers() if peers is None else peers
        return vpn.ruleset(self.iface, [(ipaddress.IPv4Address(p["address"]), p["rules"]) for p in peers.values()])

    # --- life cycle ---------------------------------------------------------------------------

    def start(self, supervise_every_s: float = 0.5) -> None:
        """Start the daemon, push the whole state, and restart it whenever it dies."""
        with self._lock:
            self._bring_up()

        def loop() -> None:
            next_health = time.monotonic() + HEALTH_EVERY_S
            while not self._halt.wait(supervise_every_s):
                if self.gateway.running():
                    if time.monotonic() >= next_health:
                        next_health = time.monotonic() + HEALTH_EVERY_S
                        try:
                            self.check_health()
                        except Exception:  # noqa: BLE001 - a failed look is tried again next time
                            log.exception("reading the VPN peers' health failed")
                    continue
                log.warning("the VPN gateway daemon exited; restarting it")
                try:
                    with self._lock:
                        if not self._halt.is_set():
                            self._bring_up()
                            self.restarts += 1
                except Exception:  # noqa: BLE001 - keep supervising
                    log.exception("restarting the VPN gateway failed")
        self._thread = threading.Thread(target=loop, daemon=True, name="vpn-supervisor")
        self._thread.start()

    def _bring_up(self) -> None:
        self.gateway.stop()
        # Rules first: the interface never exists without its filter.
        self.gateway.load_ruleset(self.ruleset_text())
        self.gateway.start()
        for key, p in sorted(self.peers().items()):
            self.gateway.set_peer(vpn.wg_argv(p["wg"]))

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            self.gateway.stop()

    # --- changes ------------------------------------------------------------------------------

    def submit(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Verify, then run a customer-approved peer change; a refusal runs nothing."""
        change_id = str(payload.get("change", ""))[:100]
        with self._lock:
            active = self.peers()
            try:
                action, peer, lines = check_peer_change(payload, self.site, active, self.used_changes(), self.clock())
            except ApprovalError as exc:
                log.warning("peer change %s refused: %s", change_id, exc)
                self.store.append(EventKind.VPN_PEER_REFUSED, P.VpnPeerRefused(
                    change=change_id, reason=exc.reason, detail=exc.detail[:P.MAX_TEXT]))
                raise
            self.store.put(APPLIED_KEY, json.dumps(sorted(self.used_changes() | {change_id})))
            after = dict(active)
            # What the ledger records: a rotation is the new key's add and the old key's removal.
            applied: list[tuple[str, str, list[str]]] = []
            if action == "add":
                after[peer.public_key] = _entry(peer, lines)
                self.gateway.load_ruleset(self.ruleset_text(after))  # the filter before the peer
                self.gateway.set_peer(vpn.wg_argv(lines[0]))
                applied.append(("add", peer.public_key, lines))
            elif action == "remove":
                after.pop(peer.public_key)
                self.gateway.remove_peer(peer.public_key)
                self.gateway.load_ruleset(self.ruleset_text(after))
                applied.append(("remove", peer.public_key, lines))
                self._clear_down(str(peer.address))
            else:
                old = str(payload["replaces"])
                cut = lines.index(f"wg set {self.iface} peer {old} remove")
                after.pop(old)
                after[peer.public_key] = _entry(peer, lines[:cut])
                # The /32's rule differs only in its comment, so the filter never lapses; the wg
                # line moves the /32 to the new key in one step, then the old key goes.
                self.gateway.load_ruleset(self.ruleset_text(after))
                self.gateway.set_peer(vpn.wg_argv(lines[0]))
                self.gateway.remove_peer(old)
                applied += [("add", peer.public_key, lines[:cut]), ("remove", old, lines[cut:])]
            self.store.put(PEERS_KEY, json.dumps(after, sort_keys=True))
            for act, key, part in applied:
                self.store.append(EventKind.VPN_PEER_APPLIED, P.VpnPeerApplied(
                    change=change_id, action=act, customer=peer.customer, public_key=key,
                    address=str(peer.address), lines=part))
        return {"applied": change_id, "action": action, "public_key": peer.public_key}

    def revoke(self, public_key: str, officer: str, reason: str) -> float | None:
        """Cut a peer off now (an officer's decision; no customer signature); seconds it took, or
        None where the gateway holds no such peer (never applied, or cut already): nothing to do,
        so a revocation the controller sends again is answered, not refused."""
        t0 = time.monotonic()
        with self._lock:
            active = self.peers()
            p = active.pop(public_key, None)
            if p is None:
                return None
            # Filter first: from this instant nothing of the /32 passes, established flows included.
            self.gateway.load_ruleset(self.ruleset_text(active))
            self.gateway.remove_peer(public_key)
            self.store.put(PEERS_KEY, json.dumps(active, sort_keys=True))
            seconds = time.monotonic() - t0
            self._clear_down(p["address"])
            self.store.append(EventKind.VPN_PEER_REVOKED, P.VpnPeerRevoked(
                customer=p["customer"], public_key=public_key, address=p["address"], officer=officer,
                reason=reason[:P.MAX_TEXT], seconds=round(seconds, 4)))
        return seconds

    # --- status -------------------------------------------------------------------------------

    def _clear_down(self, address: str) -> None:
        self.store.clear_alarm(AlarmKind.VPN_PEER_DOWN, P.VpnPeerAlarm(source=f"vpn:{address}", address=address,
                                                                       state="cleared"))

    def check_health(self, now: float | None = None) -> list[str]:
        """Raise ``vpn_peer_down`` for a peer that had shaken hands and has been silent longer
        than ``vpn.DOWN_AFTER_S`` (its client keeps the tunnel alive, so silence means down);
        clear it when the peer is back or gone. A peer that never connected is not an alarm:
        the device may not be set up yet. Returns the addresses down now."""
        rows = self.status(now)
        down = []
        for p in rows:
            source = f"vpn:{p['address']}"
            if p["down"] and p["handshake_age_s"] is not None:
                down.append(p["address"])
                self.store.raise_alarm(AlarmKind.VPN_PEER_DOWN, P.VpnPeerAlarm(
                    source=source, severity="warning", customer=p["customer"], address=p["address"],
                    message=(f"VPN peer {p['address']} of {p['customer']} has been silent for "
                             f"{p['handshake_age_s']:.0f} s (down after {vpn.DOWN_AFTER_S} s)")[:P.MAX_TEXT]))
            else:
                self._clear_down(p["address"])
        return down

    def status(self, now: float | None = None) -> list[dict[str, Any]]:
        """Per active peer: customer, address, endpoint, handshake age, rx/tx, down or not."""
        now = time.time() if now is None else now
        _, seen = vpn.parse_dump(self.gateway.dump())
        by_key = {s.public_key: s for s in seen}
        out = []
        for key, p in sorted(self.peers().items(), key=lambda kv: kv[1]["address"]):
            s = by_key.get(key)
            out.append({"public_key": key, "customer": p["customer"], "address": p["address"],
                        "endpoint": s.endpoint if s else None,
                        "handshake_age_s": s.handshake_age(now) if s else None,
                        "rx_bytes": s.rx_bytes if s else 0, "tx_bytes": s.tx_bytes if s else 0,
                        "down": s.down(now, expect_keepalive=True) if s else True})
        return out
