"""Authenticated API latency while 50 clients hammer the login with bad passwords, next to the
same call on an idle controller.

    .venv/bin/python -m bench.login [--flooders 50] [--seconds 20] [--database-url URL]

The last line prints the figures, e.g.
    login: flooders=50 bad_logins_per_s=... api_p50_ms=... api_p99_ms=... link_up=1 idle_p99_ms=...
"""
from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import ControllerRig, make_agent, wait_for


def api_latencies(client: httpx.Client, seconds: float) -> list[float]:
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        r = client.get("/api/agents")
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
        time.sleep(0.02)
    return out


FLOOD_PROCESSES = 5


def flood_process(url: str, ids: range, stop, counts) -> None:
    def one(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            while not stop.is_set():
                c.post("/api/auth/token", json={"username": ("off", f"guess{i}")[i % 2], "password": "bad"})
                with counts.get_lock():
                    counts.value += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 2 else max(values)


def run(tmp: Path, flooders: int, seconds: float, database_url: str) -> str:
    rig = ControllerRig(tmp, database_url).start()
    rig.seed_users({"off": ("officer", None)})
    agent = make_agent(tmp, rig).start()
    try:
        officer = rig.client("off", "off-pass")
        wait_for(lambda: any(a["online"] for a in officer.get("/api/agents").json()), timeout=60, what="agent")
        idle = api_latencies(officer, 5)
        stop = multiprocessing.Event()
        counts = multiprocessing.Value("i", 0)
        # The flooders live in processes of their own, so the measuring client does not queue
        # behind their threads for this interpreter's lock.
        procs = [multiprocessing.Process(target=flood_process, args=(rig.url, range(i, flooders, FLOOD_PROCESSES),
                                                                     stop, counts), daemon=True)
                 for i in range(min(FLOOD_PROCESSES, flooders))]
        t0 = time.monotonic()
        for p in procs:
            p.start()
        time.sleep(2)  # the flood is under way before we measure
        busy = api_latencies(officer, seconds)
        stop.set()
        elapsed = time.monotonic() - t0
        for p in procs:
            p.join(70)
        counts = [counts.value]
        health = httpx.get(rig.url + "/healthz", timeout=5)
        link_up = int(health.status_code == 200 and health.json().get("link") == "up"
                      and any(a["online"] for a in officer.get("/api/agents").json()))
        print(f"  idle: {len(idle)} calls, flood: {len(busy)} calls, {counts[0]} bad logins; "
              f"slowest under flood (ms): {sorted(round(x) for x in busy)[-8:]}", file=sys.stderr)
        return (f"login: flooders={flooders} bad_logins_per_s={counts[0] / elapsed:.1f} "
                f"api_p50_ms={statistics.median(busy):.1f} api_p99_ms={pct(busy, 99):.1f} link_up={link_up} "
                f"idle_p99_ms={pct(idle, 99):.1f}")
    finally:
        agent.stop()
        rig.proc.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flooders", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--database-url", default="")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        url = a.database_url or f"sqlite:///{Path(d) / 'controller.db'}"
        print(run(Path(d), a.flooders, a.seconds, url))


if __name__ == "__main__":
    main()
