"""Time to apply one approved change to 20 simulated switches in parallel, next to one by one.

    .venv/bin/python -m bench.network [--switches 20] [--vendor cisco_ios] [--parallel 20]

Each switch is an SSH server in this process (the project's switch simulator); every run goes
through Netmiko with the whole apply cycle: connect, back up, check, send, read back, compare,
save. The change isolates two customer VLANs (8 lines per switch). The switches are reset
between runs. The last line prints the figures, e.g.
    network: switches=20 vendor=cisco_ios serial_s=40.1 parallel_s=6.3 speedup=6.4 per_switch_s=2.0
"""
from __future__ import annotations

import argparse
import logging
import sys
import time

from network_policy.acl import network
from network_policy.apply import apply_change, plan_for
from network_policy.intent import Service, VlanPolicy, default_allows
from network_policy.netmiko_device import NetmikoDevice, SwitchAccess
from simulators.switch.fleet import SwitchFleet
from simulators.switch.site_view import SwitchSpec

SERVICES = [Service("platform", network("10.0.0.10"), "tcp", (443,)),
            Service("dns", network("10.0.0.53"), "udp", (53,))]
ACLS = {110: VlanPolicy(110, "acme", network("10.110.0.0/24"), default_allows(SERVICES)).acl(),
        120: VlanPolicy(120, "borealis", network("10.120.0.0/24"), default_allows(SERVICES)).acl()}


def run(fleet: SwitchFleet, vendor: str, parallel: int) -> float:
    for sw in fleet.switches.values():
        sw.set_running("", save=True)  # back to the factory configuration
    plans = [plan_for(sid, vendor, {}, ACLS) for sid in fleet.switches]

    def connect(device: str) -> NetmikoDevice:
        p = fleet.switches[device].netmiko_params()
        return NetmikoDevice(SwitchAccess(p["host"], p["port"], p["username"], p["password"], vendor, 30))

    done = []
    started = time.monotonic()
    results = apply_change(plans, connect, max_parallel=parallel,
                           progress=lambda d, st: (done.append(d), print(f"  {len(done)}/{len(plans)} {d} {st}",
                                                                         file=sys.stderr, flush=True)))
    seconds = time.monotonic() - started
    bad = [(r.device, r.status, r.error) for r in results if r.status != "saved"]
    if bad:
        raise SystemExit(f"not all switches took the change: {bad[:3]}")
    return seconds


def main() -> None:
    logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)  # resets at disconnect are expected
    ap = argparse.ArgumentParser()
    ap.add_argument("--switches", type=int, default=20)
    ap.add_argument("--vendor", default="cisco_ios", choices=["cisco_ios", "huawei", "hp_comware"])
    ap.add_argument("--parallel", type=int, default=20)
    args = ap.parse_args()
    specs = [SwitchSpec.make(f"sw-{i:02d}", args.vendor, ports=4) for i in range(args.switches)]
    with SwitchFleet(specs=specs, ephemeral=True) as fleet:
        print(f"one by one, {args.switches} switches:", file=sys.stderr)
        serial = run(fleet, args.vendor, 1)
        print(f"in parallel (up to {args.parallel} at once):", file=sys.stderr)
        parallel = run(fleet, args.vendor, args.parallel)
    print(f"network: switches={args.switches} vendor={args.vendor} serial_s={serial:.1f} parallel_s={parallel:.1f} "
          f"speedup={serial / parallel:.1f} per_switch_s={serial / args.switches:.2f}")


if __name__ == "__main__":
    main()
