"""Remote work over a real WireGuard tunnel (wireguard-go), in network namespaces with nftables.

The lab's switch namespace is the appliance: it routes the customers' VLANs and runs the edge's
VPN gateway. A remote client sits on a "wan" segment whose own traffic the switch does not route
(only the tunnel's does), with its own wireguard-go configured by hand here, as the annotator's
WireGuard app would be.
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_agent.store import EdgeStore
from edge_agent.vpn import VpnService, WireguardGo, gateway_key, reach_of
from network_policy import vpn
from network_policy.approval import ApprovalError, sign
from simulators.netlab import Host, Lab, LabError, Segment
from tests.conftest import wait_for
from tests.lab.conftest import cannot_run, lab_blocker
from tests.vpn_site import vpn_site, wg_keypair

pytestmark = pytest.mark.lab

PORT = 443
NO = 0.3  # timeout of a probe expected to fail
EXPIRES = "2099-01-01T00:00:00Z"
ACME, BOREALIS = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
CLIENT_ADDRESS = "10.200.0.2"
FIGURES: dict[str, float] = {}


def _blocker() -> str | None:
    reason = lab_blocker()
    if reason:
        return reason
    for tool in ("wireguard-go", "wg"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (apt-get install wireguard-go wireguard-tools)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing (wireguard-go needs a tun device)"
    return None


def _ns(ns: str, *argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(["ip", "netns", "exec", ns, *argv], input=stdin, capture_output=True, text=True,
                          timeout=15)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr}"
    return done.stdout


class Client:
    """The annotator's device: its own wireguard-go, keyed and routed as a WireGuard app does."""

    def __init__(self, ns: str, iface: str, gateway_public: str, endpoint: str) -> None:
        self.ns, self.iface = ns, iface
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, "wireguard-go", "-f", iface],
                                     env={**os.environ, "WG_PROCESS_FOREGROUND": "1", "LOG_LEVEL": "error"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: os.path.exists(f"/var/run/wireguard/{iface}.sock"), timeout=10, interval=0.02,
                 what="the client's wireguard-go")
        self.gateway_public, self.endpoint = gateway_public, endpoint
        _ns(ns, "ip", "addr", "add", f"{CLIENT_ADDRESS}/32", "dev", iface)
        _ns(ns, "ip", "link", "set", iface, "up")
        for net in ("10.110.0.0/24", "10.120.0.0/24", "10.0.0.0/24"):
            _ns(ns, "ip", "route", "add", net, "dev", iface)

    def use_key(self, private: str) -> None:
        with tempfile.NamedTemporaryFile("w", prefix="wgclient") as f:
            f.write(private + "\n")
            f.flush()
            _ns(self.ns, "wg", "set", self.iface, "private-key", f.name, "peer", self.gateway_public,
                "endpoint", self.endpoint, "allowed-ips", "10.110.0.0/24,10.120.0.0/24,10.0.0.0/24",
                "persistent-keepalive", "25")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(5)


@pytest.fixture(scope="module")
def gw_lab(tmp_path_factory):
    reason = _blocker()
    if reason:
        cannot_run(reason)
    prefix = f"w{os.getpid() % 100000:05d}"
    lab = Lab(prefix=prefix,
              segments=[Segment(name="v110", gateway="10.110.0.1/24"),
                        Segment(name="v120", gateway="10.120.0.1/24"),
                        Segment(name="v100", gateway="10.0.0.1/24"),
                        Segment(name="wan", gateway="192.0.2.1/24")],
              hosts=[Host(name="a1", segment="v110", address="10.110.0.11/24"),
                     Host(name="b1", segment="v120", address="10.120.0.11/24"),
                     Host(name="plat", segment="v100", address="10.0.0.10/24"),
                     Host(name="client", segment="wan", address="192.0.2.10/24")])
    try:
        lab.up()
    except LabError as exc:
        cannot_run(f"cannot build namespaces here: {exc}")
    svc = client = None
    try:
        for host in ("a1", "b1", "plat"):
            lab.listen(host, PORT)
        # The internet side is not routed into the site: only what comes out of the tunnel is.
        lab.load_ruleset(f'table inet lab_wan {{\n\tchain forward {{\n'
                         f'\t\ttype filter hook forward priority filter; policy accept;\n'
                         f'\t\tiifname "{lab.iface_of("wan")}" counter drop\n\t}}\n}}\n')
        gw_private, gw_public = wg_keypair()
        site = vpn_site(ACME, BOREALIS, gw_private, interface=f"{prefix}g")
        conf = site.network.vpn
        routes = [c.remote.range for c in site.customers if c.remote is not None]
        driver = WireguardGo(conf, gateway_key(conf), routes, netns=lab.switch_ns)
        svc = VpnService(site, EdgeStore(tmp_path_factory.mktemp("vpn") / "edge.db"), driver)
        svc.start(supervise_every_s=0.2)
        client = Client(lab.ns_of("client"), f"{prefix}c", gw_public, f"192.0.2.1:{conf.listen_port}")
        yield lab, svc, client
    finally:
        if client is not None:
            client.stop()
        if svc is not None:
            svc.stop()
        lab.down()
        if FIGURES:
            print("\nvpn lab figures: " + " ".join(f"{k}={v:.3f}" for k, v in FIGURES.items()))


def add_peer(svc: VpnService, public: str, change_id: str, address: str = CLIENT_ADDRESS,
             signer: Ed25519PrivateKey = ACME) -> dict:
    p = vpn.Peer(public, ipaddress.IPv4Address(address), "acme")
    lines = vpn.add_lines(svc.iface, p, reach_of(svc.site, "acme"))
    approval = sign(signer, change_id, "acme", {vpn.device_name(svc.iface): lines}, EXPIRES)
    payload = {"change": change_id, "action": "add", "lines": lines, "approvals": [approval.__dict__],
               "peer": {"public_key": public, "address": address, "customer": "acme"}}
    return svc.submit(payload)


def gateway_state(lab: Lab, svc: VpnService) -> tuple[str, str]:
    return (_ns(lab.switch_ns, "wg", "show", svc.iface, "dump"), _ns(lab.switch_ns, "nft", "list", "ruleset"))


@pytest.fixture
def peer(gw_lab):
    """A fresh key on the client, approved by acme and applied; revoked afterwards if still there."""
    lab, svc, client = gw_lab
    private, public = wg_keypair()
    client.use_key(private)
    add_peer(svc, public, f"add-{public[:8]}")
    yield public
    if public in svc.peers():
        svc.revoke(public, officer="test", reason="test over")


def test_an_approved_peer_reaches_its_customers_vlan_and_the_platform_and_nothing_of_another(gw_lab, peer):
    lab, svc, client = gw_lab
    assert wait_for(lambda: lab.ping("client", "a1", timeout=0.5), timeout=10, interval=0.05,
                    what="the tunnel to acme's host")
    result = lab.reachability([("client", "a1"), ("client", "a1", PORT), ("client", "plat"),
                               ("client", "plat", PORT)])
    assert all(result.values()), result
    result = lab.reachability([("client", "b1"), ("client", "b1", PORT), ("client", "10.120.0.1"),
                               ("client", "10.110.0.1"), ("client", "10.0.0.1")], timeout=NO)
    assert not any(result.values()), result
    # The gateway itself (10.110.0.1, 10.0.0.1) answers nothing from the tunnel, and nothing initiates
    # into the tunnel, not even the peer's own customer.
    assert not lab.ping("b1", CLIENT_ADDRESS, timeout=NO) and not lab.ping("a1", CLIENT_ADDRESS, timeout=NO)
    (status,) = svc.status()
    assert status["address"] == CLIENT_ADDRESS and status["endpoint"].startswith("192.0.2.10:")
    assert status["handshake_age_s"] is not None and status["handshake_age_s"] < 30 and not status["down"]
    assert status["rx_bytes"] > 0 and status["tx_bytes"] > 0
    rules = _ns(lab.switch_ns, "nft", "list", "table", "inet", vpn.TABLE)
    drop = next(ln for ln in rules.splitlines() if "from the tunnel, no peer rule" in ln)
    assert "packets 0 " not in drop  # the probes to borealis were dropped and counted


def test_a_peer_without_a_valid_customer_signature_is_refused_before_any_line_runs(gw_lab):
    lab, svc, client = gw_lab
    private, public = wg_keypair()
    client.use_key(private)
    before = gateway_state(lab, svc)
    with pytest.raises(ApprovalError) as info:
        add_peer(svc, public, "forged", signer=BOREALIS)  # signed, but not with acme's key
    assert info.value.reason == "bad_signature"
    wg_dump, ruleset = gateway_state(lab, svc)
    assert public not in wg_dump and CLIENT_ADDRESS not in ruleset
    assert wg_dump == before[0]
    # Counters move with the other tests' traffic; the rules themselves are unchanged.
    strip = lambda text: [ln.split(" counter")[0] for ln in text.splitlines()]  # noqa: E731
    assert strip(ruleset) == strip(before[1])
    assert not lab.ping("client", "a1", timeout=1.0)


def test_a_revoked_peer_is_cut_within_a_second(gw_lab, peer):
    lab, svc, client = gw_lab
    assert wait_for(lambda: lab.ping("client", "a1", timeout=0.5), timeout=10, interval=0.05, what="the tunnel")
    probes: list[tuple[float, bool]] = []
    halt = threading.Event()

    def probe() -> None:
        while not halt.is_set():
            start = time.monotonic()
            probes.append((start, lab.ping("client", "a1", timeout=0.1)))

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    wait_for(lambda: sum(ok for _, ok in probes) >= 3, timeout=5, interval=0.02, what="pings through the tunnel")
    t0 = time.monotonic()
    took = svc.revoke(peer, officer="p-001", reason="laptop lost")
    t1 = time.monotonic()
    wait_for(lambda: any(s > t1 + 1.0 for s, _ in probes), timeout=5, interval=0.05, what="a second of probes")
    halt.set()
    prober.join(2)
    after = [(s, ok) for s, ok in probes if s >= t1]
    assert after and not any(ok for _, ok in after), "a probe passed after the revocation returned"
    last_ok = max(s for s, ok in probes if ok)
    FIGURES["revoke_s"] = t1 - t0
    FIGURES["revoke_lines_s"] = took
    FIGURES["last_ok_after_revoke_start_s"] = max(0.0, last_ok - t0)
    assert t1 - t0 < 1.0
    assert peer not in _ns(lab.switch_ns, "wg", "show", svc.iface, "dump")
    assert not lab.tcp_connect("client", "plat", PORT, timeout=NO)


def test_a_gateway_restart_is_recovered_by_the_client_within_20_s(gw_lab, peer):
    lab, svc, client = gw_lab
    assert wait_for(lambda: lab.ping("client", "a1", timeout=0.5), timeout=10, interval=0.05, what="the tunnel")
    restarts = svc.restarts
    pid = svc.gateway._proc.pid
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)  # the daemon dies; the supervisor must bring it back with its peers
    wait_for(lambda: svc.restarts > restarts, timeout=5, interval=0.02, what="the supervisor's restart")
    FIGURES["daemon_back_s"] = time.monotonic() - t0
    wait_for(lambda: lab.ping("client", "a1", timeout=0.5), timeout=25, interval=0.05,
             what="the client back through the tunnel")
    FIGURES["recovery_s"] = time.monotonic() - t0
    assert FIGURES["recovery_s"] < 20
    assert lab.tcp_connect("client", "plat", PORT) and not lab.ping("client", "b1", timeout=NO)
