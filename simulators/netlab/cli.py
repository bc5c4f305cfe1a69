"""`python -m simulators.netlab`: build, probe and remove labs from a shell.

The lab outlives the `up` command (namespaces persist); every later command finds it by prefix
alone, because all names derive from it. Exit status: 0 done / reachable, 1 probe failed,
2 error (message on stderr).
"""
from __future__ import annotations

import argparse
import signal
import sys

from . import probes, ruleset, topology
from .lab import Lab
from .model import LabError, check_prefix, host_ns, switch_ns
from .ruleset import RulesetError


def _up(args: argparse.Namespace) -> int:
    if args.site:
        lab = Lab.from_site(args.site, args.prefix or "sgl")
    else:
        lab = Lab.from_config(args.config, args.prefix)
    lab.up()
    print(f"lab {lab.prefix} up: switch namespace {lab.switch_ns}")
    for seg in lab.segments.values():
        print(f"  segment {seg.name} bridge {lab.iface_of(seg.name)} gateway {seg.gateway}")
    for host in lab.hosts.values():
        print(f"  host {host.name} {host.address} on {host.segment}: ns {lab.ns_of(host.name)}")
    return 0


def _down(args: argparse.Namespace) -> int:
    removed = topology.destroy(check_prefix(args.prefix))
    print(f"removed {len(removed)} namespaces" + (": " + " ".join(removed) if removed else ""))
    return 0


def _load(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else open(args.file).read()
    ruleset.load(switch_ns(check_prefix(args.prefix)), text)
    return 0


def _probe(args: argparse.Namespace) -> int:
    ns = host_ns(check_prefix(args.prefix), args.src)
    if args.tcp is not None:
        ok = probes.tcp_connect(ns, args.dst, args.tcp, args.timeout)
    elif args.udp is not None:
        ok = probes.udp_probe(ns, args.dst, args.udp, args.timeout)
    else:
        ok = probes.ping(ns, args.dst, timeout=args.timeout)
    print("reachable" if ok else "unreachable")
    return 0 if ok else 1


def _listen(args: argparse.Namespace) -> int:
    listener = probes.Listener(host_ns(check_prefix(args.prefix), args.host), args.port,
                               "udp" if args.udp else "tcp")
    print(f"listening on {args.host} {listener.proto}/{args.port}; Ctrl-C stops", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simulators.netlab", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="build a lab (replacing leftovers of the same prefix)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="lab YAML (see simulators/netlab/config.py)")
    src.add_argument("--site", help="site file: default lab for its customer VLANs")
    p.add_argument("--prefix", help="name prefix, 1-8 of [a-z0-9]")
    p.set_defaults(fn=_up)
    p = sub.add_parser("down", help="remove every namespace of a prefix")
    p.add_argument("--prefix", required=True)
    p.set_defaults(fn=_down)
    p = sub.add_parser("load", help="replace the switch's nftables ruleset")
    p.add_argument("--prefix", required=True)
    p.add_argument("file", help="ruleset file, - for stdin")
    p.set_defaults(fn=_load)
    p = sub.add_parser("probe", help="ping (default), --tcp PORT or --udp PORT")
    p.add_argument("--prefix", required=True)
    p.add_argument("--from", dest="src", required=True, help="host name")
    p.add_argument("--to", dest="dst", required=True, help="IPv4 address")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--tcp", type=int, metavar="PORT")
    kind.add_argument("--udp", type=int, metavar="PORT")
    p.add_argument("--timeout", type=float, default=1.0)
    p.set_defaults(fn=_probe)
    p = sub.add_parser("listen", help="serve a port on a host until interrupted")
    p.add_argument("--prefix", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--udp", action="store_true", help="UDP echo instead of TCP accept")
    p.set_defaults(fn=_listen)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except (LabError, RulesetError, OSError) as exc:
        print(f"netlab: {exc}", file=sys.stderr)
        return 2
