"""The gateway's tunnel MTU is checked against its underlay: a lab whose client side (the switch's
"wan" bridge and cable, the client's NIC) carries 1400 bytes, real wireguard-go on both ends."""
from __future__ import annotations

import os
import subprocess

import pytest

from edge_agent.vpn import CommandError
from simulators.netlab import LabError
from tests.conftest import wait_for
from tests.lab.conftest import cannot_run
from tests.lab.vpn_lab import Client, add_peer, blocker, build, start_gateway
from tests.vpn_site import wg_keypair

pytestmark = pytest.mark.lab

UNDERLAY_MTU = 1400


def df_ping(ns: str, dst: str, size: int) -> subprocess.CompletedProcess:
    """One echo with Don't Fragment set and ``size`` bytes of ICMP payload (packet: size + 28)."""
    return subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "1", "-M", "do", "-s",
                           str(size), dst], capture_output=True, text=True, timeout=10)


def test_a_gateway_refuses_a_tunnel_mtu_its_underlay_cannot_carry_and_runs_with_one_it_can(tmp_path):
    reason = blocker()
    if reason:
        cannot_run(reason)
    try:
        lab = build(f"m{os.getpid() % 100000:05d}", wan_mtu=UNDERLAY_MTU)
    except LabError as exc:
        cannot_run(f"cannot build namespaces here: {exc}")
    svc = client = None
    try:
        with pytest.raises(CommandError, match=r"tunnel MTU 1420 does not fit .*\(MTU 1400\): at most 1320"):
            start_gateway(lab, tmp_path / "refused")
        links = subprocess.run(["ip", "netns", "exec", lab.switch_ns, "ip", "-o", "link"], capture_output=True,
                               text=True, check=True).stdout
        assert f"{lab.prefix}g" not in links  # refused before the daemon made its interface

        (tmp_path / "ok").mkdir()
        svc, gw_public = start_gateway(lab, tmp_path / "ok", mtu=1320)
        client = Client.for_gateway(lab, svc, gw_public, mtu=1320)  # as the client config says
        private, public = wg_keypair()
        client.use_key(private)
        add_peer(svc, public, "mtu-peer")
        assert wait_for(lambda: lab.ping("client", "a1", timeout=0.5), timeout=10, interval=0.05, what="the tunnel")
        client_ns, a1 = lab.ns_of("client"), lab.address_of("a1")
        fits = df_ping(client_ns, a1, 1320 - 28)  # a full-size tunnel packet, each way, unfragmented
        assert fits.returncode == 0, fits.stdout + fits.stderr
        over = df_ping(client_ns, a1, 1320 - 28 + 1)
        assert over.returncode != 0 and "1 received" not in over.stdout
    finally:
        if client is not None:
            client.stop()
        if svc is not None:
            svc.stop()
        lab.down()
