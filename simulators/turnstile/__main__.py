"""Run the simulated gates of a site file until SIGTERM/SIGINT.

    python -m simulators.turnstile --site simulators/sites/demo.yaml [--gates gate-main]
        [--keys var/osdp-keys] [--control-port 8795] [--scenario FILE]

Prints a line for each newly generated key, one line per gate ending in "ready", then a last
"fleet ... ready" line with the control endpoint, so a parent process can wait for them.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

import osdp

from .keys import DEFAULT_KEYS_DIR
from .fleet import TurnstileFleet

OSDP_LOG_LEVELS = {"debug": osdp.LogLevel.Debug, "info": osdp.LogLevel.Info,
                   "warning": osdp.LogLevel.Warning, "error": osdp.LogLevel.Error,
                   "critical": osdp.LogLevel.Critical}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulators.turnstile",
                                description=__doc__.split("\n")[0])
    p.add_argument("--site", required=True, help="site file whose gates to simulate")
    p.add_argument("--gates", help="comma-separated gate ids (default: all in the site file)")
    p.add_argument("--keys", default=str(DEFAULT_KEYS_DIR),
                   help="directory of <gate>.scbk key files, used when the gate's scbk_env is "
                        f"not set; missing keys are generated there (default {DEFAULT_KEYS_DIR})")
    p.add_argument("--control-port", type=int, default=8795,
                   help="JSON control endpoint port on 127.0.0.1 (0: any free port; -1: none; "
                        "default 8795)")
    p.add_argument("--scenario", help="YAML scenario of timed people flows and faults")
    p.add_argument("--log-level", default="WARNING")
    p.add_argument("--osdp-log-level", default="error", choices=sorted(OSDP_LOG_LEVELS),
                   help="libosdp's own logging (default error)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    # Handlers first: a SIGTERM during start-up must still stop what started.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    gates = [g.strip() for g in args.gates.split(",") if g.strip()] if args.gates else None
    try:
        fleet = TurnstileFleet(args.site, gates=gates, keys_dir=args.keys,
                               control_port=None if args.control_port < 0 else args.control_port,
                               scenario=args.scenario,
                               osdp_log_level=OSDP_LOG_LEVELS[args.osdp_log_level])
        fleet.start()
    except (ValueError, OSError) as exc:
        print(f"simulators.turnstile: {exc}", file=sys.stderr)
        return 2
    try:
        for gid, key in fleet.keys.items():
            if key.source == "generated":
                print(f"{gid} generated a new SCBK in {key.where}; give the control panel the "
                      f"same key", flush=True)
        for gate in fleet.gates.values():
            spec = gate.spec
            print(f"{gate.id} kind={spec.kind} osdp=tcp://{spec.host}:{gate.port} "
                  f"address={spec.address} key={gate.key.describe()} ready", flush=True)
        control = f"control={fleet.control.url}" if fleet.control else "control=off"
        scenario = f"scenario={args.scenario}" if args.scenario else "scenario=off"
        print(f"fleet {control} {scenario} ready", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
