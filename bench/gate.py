"""Card-read-to-unlock latency at a gate, next to the OSDP frame time at the configured baud rate,
and sustained passages per minute.

    .venv/bin/python -m bench.gate [--reads 60] [--seconds 60]

One simulated full-height turnstile (a libosdp peripheral device on TCP, secure channel) and the
edge's gate service (OSDP control panel, local decision, gate state machine) run in this
process. Latency: from the card presented at the reader to the unlock output reaching the
turnstile. Throughput: badge-and-walk cycles for `--seconds`, one person each.
The last line prints the figures, e.g.
    gate: reads=60 unlock_p50_ms=70 unlock_p99_ms=120 osdp_frame_ms=21.9 baud=9600 passages_per_min=38
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

from edge_agent.gates import GateService
from edge_agent.store import EdgeStore
from edge_agent.wire.site import load_site_file
from simulators.turnstile.fleet import TurnstileFleet
from simulators.turnstile.wiegand import encode as encode_card
from tests.conftest import DEMO_SITE, free_port

# A secure-channel CardRead reply: SOM, addr, len(2), ctrl, SCB(3), reply code, reader, format,
# bit count(2), 4 data bytes, MAC(4), CRC(2) = 23 bytes; 10 bits a byte on the serial line.
CARD_FRAME_BYTES = 23


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        doc = yaml.safe_load(DEMO_SITE.read_text())
        doc["cameras"], doc["seats"] = [], []
        for area in doc.get("areas") or []:  # its floor plan names cameras left out here
            area.pop("floor_plan", None)
        doc["gates"] = [g for g in doc["gates"] if g["id"] == "gate-main"]
        # No cameras run here, so the gate counts its lane by beam only (no camera, no lane).
        for key in ("camera", "lane"):
            doc["gates"][0].pop(key, None)
        doc["gates"][0]["osdp"]["channel"] = f"tcp://127.0.0.1:{free_port()}"
        site_file = tmp / "site.yaml"
        site_file.write_text(yaml.safe_dump(doc))
        baud = doc["gates"][0]["osdp"].get("baud", 9600)
        fleet = TurnstileFleet(site_file, keys_dir=tmp / "keys", control_port=None)
        fleet.start()
        store = EdgeStore(tmp / "edge.db")
        service = GateService(load_site_file(site_file), store, tmp / "keys")
        service.start()
        gate = fleet.gates["gate-main"]
        try:
            deadline = time.monotonic() + 30
            while not service.gates["gate-main"].online and time.monotonic() < deadline:
                time.sleep(0.1)
            badge = next(b for b in doc["people"][2]["badges"])  # an annotator with current training
            card = encode_card(badge.get("format", "wiegand26"), badge.get("facility"), int(badge["number"]))
            latencies = []
            for i in range(args.reads):
                t0 = time.monotonic()
                gate.present_card(card, "entry" if i % 2 == 0 else "exit")
                if not gate.wait_free("entry" if i % 2 == 0 else "exit", timeout=5):
                    print(f"read {i}: no unlock", file=sys.stderr)
                    continue
                latencies.append((time.monotonic() - t0) * 1000)
                gate.walk("entry" if i % 2 == 0 else "exit", 1)
                gate.wait_idle(5)
                if (i + 1) % 20 == 0:
                    print(f"  {i + 1}/{args.reads} reads", file=sys.stderr, flush=True)
            passages, t_end, i = 0, time.monotonic() + args.seconds, 0
            while time.monotonic() < t_end:
                direction = "entry" if i % 2 == 0 else "exit"
                gate.present_card(card, direction)
                if gate.wait_free(direction, timeout=5):
                    passages += gate.walk(direction, 1).get("passed", 0)
                    gate.wait_idle(5)
                i += 1
            edge_ms = [x * 1000 for x in service.latencies]
        finally:
            service.stop()
            fleet.stop()
            store.close()
    frame_ms = CARD_FRAME_BYTES * 10 / baud * 1000
    print(f"  decision on the edge (card event in -> unlock command out): p50 "
          f"{percentile(edge_ms, 0.5):.1f} ms, p99 {percentile(edge_ms, 0.99):.1f} ms", file=sys.stderr)
    print(f"gate: reads={len(latencies)} unlock_p50_ms={percentile(latencies, 0.5):.0f} "
          f"unlock_p99_ms={percentile(latencies, 0.99):.0f} osdp_frame_ms={frame_ms:.1f} baud={baud} "
          f"passages_per_min={passages / args.seconds * 60:.0f}")


if __name__ == "__main__":
    main()
