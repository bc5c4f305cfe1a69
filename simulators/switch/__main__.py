"""Run the simulated switches of a site file until SIGTERM/SIGINT.

    python -m simulators.switch --site simulators/sites/demo.yaml [--switches sw-core]
        [--control-port 8797] [--state-dir var/switches] [--port-offset 0]
        [--command-log FILE] [--host-key FILE]

Prints one line per switch ending in "ready", then a last "fleet ... ready" line with the
control endpoint, so a parent process can wait for them.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .fleet import SwitchFleet


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulators.switch",
                                description=__doc__.split("\n")[0])
    p.add_argument("--site", required=True, help="site file whose switches to simulate")
    p.add_argument("--switches", help="comma-separated switch ids (default: all in the site file)")
    p.add_argument("--control-port", type=int, default=8797,
                   help="JSON control endpoint port on 127.0.0.1 (0: any free port; -1: none; "
                        "default 8797)")
    p.add_argument("--state-dir", help="keep each switch's saved config (<id>.json) and the SSH "
                                       "host key here, so they survive a restart")
    p.add_argument("--port-offset", type=int, default=0,
                   help="SSH port = the switch's port in the site file + this (default 0)")
    p.add_argument("--command-log", help="also append every received line here (JSON lines)")
    p.add_argument("--host-key", help="SSH host key file (created if missing; default: in "
                                      "--state-dir, else a new key each start)")
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    stop = threading.Event()
    # Handlers first: a SIGTERM during start-up must still stop what started.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    switches = ([s.strip() for s in args.switches.split(",") if s.strip()]
                if args.switches else None)
    try:
        fleet = SwitchFleet(args.site, switches=switches,
                            control_port=None if args.control_port < 0 else args.control_port,
                            state_dir=args.state_dir, port_offset=args.port_offset,
                            command_log=args.command_log, host_key=args.host_key)
        fleet.start()
    except (ValueError, OSError) as exc:
        print(f"simulators.switch: {exc}", file=sys.stderr)
        return 2
    try:
        for sw in fleet.switches.values():
            print(f"{sw.id} vendor={sw.vendor} ssh={sw.host}:{sw.port} "
                  f"user={sw.spec.username} hostname={sw.running.hostname} ready", flush=True)
        control = f"control={fleet.control.url}" if fleet.control else "control=off"
        print(f"fleet {control} ready", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
