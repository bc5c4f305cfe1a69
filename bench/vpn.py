"""Remote work over the WireGuard gateway: throughput, added latency, recovery and revocation.

    .venv/bin/python -m bench.vpn [--seconds 5] [--rounds 3] [--pings 60]

Needs root, wireguard-go and wg (the lab of tests/lab/vpn_lab.py: five network namespaces, the
edge's VpnService with wireguard-go in the switch namespace, a remote client with its own). The
switch here also routes the client's own traffic, so the same two namespaces (client and acme's
host) are joined by two paths: the tunnel, and the plain veth path through the same switch (the
client's socket bound to its NIC). Measured, the two paths alternating round by round:

- TCP throughput client -> host: one Python socket stream for --seconds, counted by the receiver;
  the median of --rounds;
- added RTT: median ping through the tunnel less median ping over the veth path (--pings each);
- recovery: the gateway daemon is killed (SIGKILL); seconds until a ping through the tunnel
  succeeds again (the supervisor restarts the daemon, the client re-handshakes on its own);
- revocation: ``VpnService.revoke``'s own seconds; also (on the line before the last) when the
  client's last ping got through, counted from the start of the revocation.

The last line prints the figures, e.g.
    vpn: tunnel_mbit_s=310 veth_mbit_s=9800 added_rtt_ms=0.35 recovery_s=15.6 revoke_s=0.030
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from simulators.netlab import Lab, nsexec
from simulators.netlab.model import HOST_IFACE
from tests.conftest import wait_for
from tests.lab.vpn_lab import Client, add_peer, blocker, build, start_gateway
from tests.vpn_site import wg_keypair

TCP_PORT = 5201
RECV = """
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
n, t0 = 0, None
while b := c.recv(1 << 18):
    t0 = t0 or time.monotonic()
    n += len(b)
print(n, time.monotonic() - t0, flush=True)
"""
SEND = """
import socket, sys, time
host, port, seconds, dev = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = socket.socket()
if dev:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
s.connect((host, port))
buf, end = bytes(1 << 16), time.monotonic() + seconds
while time.monotonic() < end:
    s.sendall(buf)
s.close()
"""


def _in(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def throughput(lab: Lab, seconds: float, dev: str) -> float:
    """Mbit/s of one TCP stream from the client to acme's host; ``dev``: the client NIC to bind
    (the plain path), or "" for the routing table's choice (the tunnel)."""
    recv = subprocess.Popen(_in(lab.ns_of("a1"), sys.executable, "-c", RECV, str(TCP_PORT)),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert recv.stdout is not None and recv.stdout.readline().strip() == "ready"
        subprocess.run(_in(lab.ns_of("client"), sys.executable, "-c", SEND, lab.address_of("a1"), str(TCP_PORT),
                           str(seconds), dev), check=True, timeout=seconds + 30)
        n, took = recv.stdout.readline().split()
        recv.wait(10)
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    return int(n) * 8 / float(took) / 1e6


def rtts_ms(lab: Lab, count: int, dev: str) -> list[float]:
    bind = ["-I", dev] if dev else []
    out = subprocess.run(_in(lab.ns_of("client"), "ping", "-n", "-c", str(count), "-i", "0.02", "-W", "1", *bind,
                             lab.address_of("a1")), capture_output=True, text=True, timeout=count + 30).stdout
    return [float(t) for t in re.findall(r"time=([\d.]+) ms", out)]


def recovery(lab: Lab, svc) -> tuple[float, float]:
    """(seconds until the daemon is back, seconds until a ping through the tunnel passes again)."""
    restarts = svc.restarts
    t0 = time.monotonic()
    os.kill(svc.gateway._proc.pid, signal.SIGKILL)
    wait_for(lambda: svc.restarts > restarts, timeout=10, interval=0.01, what="the supervisor's restart")
    back = time.monotonic() - t0
    wait_for(lambda: lab.ping("client", "a1", timeout=0.2), timeout=60, interval=0.0, what="the tunnel again")
    return back, time.monotonic() - t0


def revocation(lab: Lab, svc, public: str) -> tuple[float, float]:
    """(revoke's own seconds, seconds from its start until the end of the last ping that passed)."""
    probes: list[tuple[float, float, bool]] = []
    halt = threading.Event()

    def probe() -> None:
        while not halt.is_set():
            start = time.monotonic()
            ok = lab.ping("client", "a1", timeout=0.1)
            probes.append((start, time.monotonic(), ok))

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    wait_for(lambda: sum(ok for *_, ok in probes) >= 5, timeout=10, interval=0.01, what="pings through the tunnel")
    t0 = time.monotonic()
    took = svc.revoke(public, officer="bench", reason="bench")
    t1 = time.monotonic()
    wait_for(lambda: any(s > t1 + 1.0 for s, *_ in probes), timeout=10, interval=0.05, what="a second of probes")
    halt.set()
    prober.join(2)
    if any(ok for s, _, ok in probes if s >= t1):
        raise SystemExit("a ping passed after the revocation returned")
    last_ok = max(end for _, end, ok in probes if ok)
    return took, max(0.0, last_ok - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each throughput run")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of tunnel and veth runs, alternating")
    ap.add_argument("--pings", type=int, default=60, help="pings per path in each round")
    args = ap.parse_args()
    reason = blocker()
    if reason:
        raise SystemExit(f"bench.vpn cannot run here: {reason}")
    lab = build(f"b{os.getpid() % 100000:05d}", wan_routed=True)
    svc = client = None
    try:
        # The client's replies over its NIC come from addresses it routes into the tunnel: no
        # reverse-path filter, or the plain path would drop them.
        nsexec.sysctl_in(lab.ns_of("client"), {"net/ipv4/conf/all/rp_filter": "0",
                                               f"net/ipv4/conf/{HOST_IFACE}/rp_filter": "0"})
        with tempfile.TemporaryDirectory(prefix="bench-vpn") as tmp:
            svc, gw_public = start_gateway(lab, Path(tmp), supervise_every_s=0.2)
            client = Client.for_gateway(lab, svc, gw_public)
            private, public = wg_keypair()
            client.use_key(private)
            add_peer(svc, public, "bench-peer")
            wait_for(lambda: lab.ping("client", "a1", timeout=0.5), timeout=10, interval=0.05, what="the tunnel")
            tunnel, veth, rtt_t, rtt_v = [], [], [], []
            for r in range(args.rounds):
                tunnel.append(throughput(lab, args.seconds, ""))
                veth.append(throughput(lab, args.seconds, HOST_IFACE))
                rtt_t += rtts_ms(lab, args.pings, "")
                rtt_v += rtts_ms(lab, args.pings, HOST_IFACE)
                print(f"  round {r + 1}: tunnel {tunnel[-1]:.0f} Mbit/s, veth {veth[-1]:.0f} Mbit/s",
                      file=sys.stderr, flush=True)
            back_s, recovery_s = recovery(lab, svc)
            revoke_s, cut_s = revocation(lab, svc, public)
    finally:
        if client is not None:
            client.stop()
        if svc is not None:
            svc.stop()
        lab.down()
    tunnel_ms, veth_ms = statistics.median(rtt_t), statistics.median(rtt_v)
    print(f"vpn detail: tunnel_rtt_ms={tunnel_ms:.3f} veth_rtt_ms={veth_ms:.3f} daemon_back_s={back_s:.2f} "
          f"last_ping_after_revoke_s={cut_s:.3f}")
    print(f"vpn: tunnel_mbit_s={statistics.median(tunnel):.0f} veth_mbit_s={statistics.median(veth):.0f} "
          f"added_rtt_ms={tunnel_ms - veth_ms:.3f} recovery_s={recovery_s:.1f} revoke_s={revoke_s:.3f}")


if __name__ == "__main__":
    main()
