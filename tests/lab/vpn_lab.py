"""The VPN lab shared by the lab tests and ``bench/vpn.py``: five namespaces, the edge's gateway in
the switch namespace, and a remote client with its own wireguard-go.

The lab's switch namespace is the appliance: it routes the customers' VLANs and runs the edge's
VPN gateway. A remote client sits on a "wan" segment whose own traffic the switch does not route
(only the tunnel's does), with its own wireguard-go configured by hand, as the annotator's
WireGuard app would be.
"""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_agent.store import EdgeStore
from edge_agent.vpn import VpnService, WireguardGo, gateway_key, reach_of
from network_policy import vpn
from network_policy.approval import sign
from simulators.netlab import Host, Lab, Segment
from simulators.netlab.model import HOST_IFACE
from tests.conftest import wait_for
from tests.lab.conftest import lab_blocker
from tests.vpn_site import vpn_site, wg_keypair

PORT = 443
EXPIRES = "2099-01-01T00:00:00Z"
ACME, BOREALIS = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
CLIENT_ADDRESS = "10.200.0.2"
TUNNEL_ROUTES = ("10.110.0.0/24", "10.120.0.0/24", "10.0.0.0/24")


def blocker() -> str | None:
    reason = lab_blocker()
    if reason:
        return reason
    for tool in ("wireguard-go", "wg"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (apt-get install wireguard-go wireguard-tools)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing (wireguard-go needs a tun device)"
    return None


def ns_run(ns: str, *argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(["ip", "netns", "exec", ns, *argv], input=stdin, capture_output=True, text=True,
                          timeout=15)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr}"
    return done.stdout


def build(prefix: str, wan_mtu: int | None = None, wan_routed: bool = False) -> Lab:
    """The lab, up, with listeners on PORT. ``wan_mtu``: the client's underlay (its cable, the
    switch's port and bridge). ``wan_routed``: the switch also routes the client's own traffic
    (a plain path beside the tunnel, for the bench); otherwise only the tunnel's passes."""
    lab = Lab(prefix=prefix,
              segments=[Segment(name="v110", gateway="10.110.0.1/24"),
                        Segment(name="v120", gateway="10.120.0.1/24"),
                        Segment(name="v100", gateway="10.0.0.1/24"),
                        Segment(name="wan", gateway="192.0.2.1/24")],
              hosts=[Host(name="a1", segment="v110", address="10.110.0.11/24"),
                     Host(name="b1", segment="v120", address="10.120.0.11/24"),
                     Host(name="plat", segment="v100", address="10.0.0.10/24"),
                     Host(name="client", segment="wan", address="192.0.2.10/24")])
    lab.up()
    try:
        for host in ("a1", "b1", "plat"):
            lab.listen(host, PORT)
        if wan_mtu is not None:
            bridge = lab.iface_of("wan")
            ports = json.loads(ns_run(lab.switch_ns, "ip", "-j", "link", "show", "master", bridge))
            for name in [p["ifname"] for p in ports] + [bridge]:
                ns_run(lab.switch_ns, "ip", "link", "set", "dev", name, "mtu", str(wan_mtu))
            ns_run(lab.ns_of("client"), "ip", "link", "set", "dev", HOST_IFACE, "mtu", str(wan_mtu))
        if not wan_routed:
            lab.load_ruleset(f'table inet lab_wan {{\n\tchain forward {{\n'
                             f'\t\ttype filter hook forward priority filter; policy accept;\n'
                             f'\t\tiifname "{lab.iface_of("wan")}" counter drop\n\t}}\n}}\n')
    except BaseException:
        lab.down()
        raise
    return lab


def start_gateway(lab: Lab, store_dir: Path, mtu: int = 1420, supervise_every_s: float = 0.2
                  ) -> tuple[VpnService, str]:
    """The edge's VpnService with a WireguardGo in the switch namespace, started; (service, the
    gateway's public key). A start that fails leaves nothing running."""
    gw_private, gw_public = wg_keypair()
    site = vpn_site(ACME, BOREALIS, gw_private, interface=f"{lab.prefix}g", mtu=mtu)
    conf = site.network.vpn
    routes = [c.remote.range for c in site.customers if c.remote is not None]
    driver = WireguardGo(conf, gateway_key(conf), routes, netns=lab.switch_ns)
    svc = VpnService(site, EdgeStore(store_dir / "edge.db"), driver)
    try:
        svc.start(supervise_every_s=supervise_every_s)
    except BaseException:
        svc.stop()
        raise
    return svc, gw_public


class Client:
    """The annotator's device: its own wireguard-go, keyed and routed as a WireGuard app does."""

    def __init__(self, ns: str, iface: str, gateway_public: str, endpoint: str, mtu: int = 1420) -> None:
        self.ns, self.iface = ns, iface
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, "wireguard-go", "-f", iface],
                                     env={**os.environ, "WG_PROCESS_FOREGROUND": "1", "LOG_LEVEL": "error"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: os.path.exists(f"/var/run/wireguard/{iface}.sock"), timeout=10, interval=0.02,
                 what="the client's wireguard-go")
        self.gateway_public, self.endpoint = gateway_public, endpoint
        ns_run(ns, "ip", "addr", "add", f"{CLIENT_ADDRESS}/32", "dev", iface)
        ns_run(ns, "ip", "link", "set", iface, "mtu", str(mtu), "up")
        for net in TUNNEL_ROUTES:
            ns_run(ns, "ip", "route", "add", net, "dev", iface)

    @classmethod
    def for_gateway(cls, lab: Lab, svc: VpnService, gw_public: str, mtu: int = 1420) -> "Client":
        conf = svc.site.network.vpn
        return cls(lab.ns_of("client"), f"{lab.prefix}c", gw_public, f"192.0.2.1:{conf.listen_port}", mtu)

    def use_key(self, private: str) -> None:
        """Set (or switch) the device's private key; the gateway peer stays as it is."""
        with tempfile.NamedTemporaryFile("w", prefix="wgclient") as f:
            f.write(private + "\n")
            f.flush()
            ns_run(self.ns, "wg", "set", self.iface, "private-key", f.name, "peer", self.gateway_public,
                   "endpoint", self.endpoint, "allowed-ips", ",".join(TUNNEL_ROUTES),
                   "persistent-keepalive", "25")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(5)


def signed_change(svc: VpnService, action: str, public: str, change_id: str, address: str = CLIENT_ADDRESS,
                  signer: Ed25519PrivateKey = ACME, replaces: str | None = None) -> dict:
    """A peer change of acme's, rendered and signed as acme's approval would be."""
    p = vpn.Peer(public, ipaddress.IPv4Address(address), "acme")
    reach = reach_of(svc.site, "acme")
    if action == "rotate":
        assert replaces is not None
        lines = vpn.rotate_lines(svc.iface, vpn.Peer(replaces, p.address, "acme"), p, reach)
    else:
        lines = (vpn.add_lines if action == "add" else vpn.remove_lines)(svc.iface, p, reach)
    approval = sign(signer, change_id, "acme", {vpn.device_name(svc.iface): lines}, EXPIRES)
    payload = {"change": change_id, "action": action, "lines": lines, "approvals": [approval.__dict__],
               "peer": {"public_key": public, "address": address, "customer": "acme"}}
    if replaces is not None:
        payload["replaces"] = replaces
    return payload


def add_peer(svc: VpnService, public: str, change_id: str, address: str = CLIENT_ADDRESS,
             signer: Ed25519PrivateKey = ACME) -> dict:
    return svc.submit(signed_change(svc, "add", public, change_id, address, signer))
