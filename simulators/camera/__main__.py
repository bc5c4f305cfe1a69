"""Run the simulated cameras of a site file until SIGTERM/SIGINT.

    python -m simulators.camera --site simulators/sites/demo.yaml [--cameras cam-01,cam-02]
        [--rtsp-port-offset 10000] [--control-port 8790] [--scenario FILE]
        [--main-fps 10 --sub-fps 5] [--no-discovery]

Prints one line per camera with its ONVIF and RTSP URLs and "ready", then a last line with the
control endpoint, so a parent process can wait for "ready" lines before connecting.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .control import RequestError
from .discovery import DISCOVERY_PORT
from .fleet import CameraFleet


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulators.camera", description=__doc__.split("\n")[0])
    p.add_argument("--site", required=True, help="site file whose cameras to simulate")
    p.add_argument("--cameras", help="comma-separated camera ids (default: all in the site file)")
    p.add_argument("--rtsp-port-offset", type=int, default=10000,
                   help="RTSP port = the camera's onvif_port + this (default 10000)")
    p.add_argument("--control-port", type=int, default=8790,
                   help="JSON control endpoint port on 127.0.0.1 (0: any free port; default 8790)")
    p.add_argument("--scenario", help="YAML scenario of timed faults and seat changes")
    p.add_argument("--main-fps", type=int, default=10)
    p.add_argument("--sub-fps", type=int, default=5)
    p.add_argument("--no-discovery", action="store_true", help="do not answer WS-Discovery")
    p.add_argument("--discovery-port", type=int, default=DISCOVERY_PORT)
    p.add_argument("--discovery-interface", default="127.0.0.1",
                   help="interface address joined to the WS-Discovery multicast group")
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    # Handlers first: a SIGTERM during start-up must still stop what started.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cameras = [c.strip() for c in args.cameras.split(",") if c.strip()] if args.cameras else None
    fleet = CameraFleet(args.site, cameras=cameras, rtsp_port_offset=args.rtsp_port_offset,
                        control_port=args.control_port, main_fps=args.main_fps,
                        sub_fps=args.sub_fps, discovery=not args.no_discovery,
                        discovery_port=args.discovery_port,
                        discovery_interface=args.discovery_interface, scenario=args.scenario)
    try:
        fleet.start()
    except (ValueError, OSError, RequestError) as exc:
        print(f"simulators.camera: {exc}", file=sys.stderr)
        return 2
    try:
        for cam in fleet.cameras.values():
            rtsp = " ".join(f"rtsp_{name}={cam.rtsp_url(name)}" for name in cam.media.profiles)
            print(f"{cam.id} onvif={cam.onvif_url} {rtsp} ready", flush=True)
        extras = [f"control={fleet.control.url}" if fleet.control else "control=off",
                  f"discovery=udp/{fleet.discovery.port}" if fleet.discovery else "discovery=off"]
        print(f"fleet {' '.join(extras)} ready", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
