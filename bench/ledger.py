"""Leaves integrated per second by the ledger's sequencer while writer processes commit facts,
each fact with its leaf in one transaction, and how long a leaf waits for its index.

    .venv/bin/python -m bench.ledger [--writers 4] [--facts 5000] [--database-url URL]

Writers are plain processes recording facts through `Ledger.record` (the HTTP workers' path
without HTTP), one fact per transaction; the sequencer integrates while they write (lag: from a
leaf's queuing to its index). Then the same number of leaves is queued at once and integrated
flat out: that is `leaves_per_s`, the sequencer's own rate. The last line prints, e.g.
    ledger: db=postgresql workers=4 facts=20000 leaves_per_s=... lag_p50_ms=... lag_p99_ms=... live_facts_per_s=...
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from controller.app import open_core
from controller.models import LedgerEntry
from controller.settings import Settings


def writer(data_dir: str, url: str, facts: int, w: int, go) -> None:
    core = open_core(Settings(data_dir=Path(data_dir), database_url=url))
    go.wait()
    for i in range(facts):
        with core.sessions() as s:
            core.ledger.record(s, "bench.fact", {"writer": w, "i": i})
            s.commit()
    core.engine.dispose()


def parse_ts(ts: str) -> float:
    return dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc).timestamp()


def run(data_dir: Path, url: str, writers: int, facts: int) -> str:
    core = open_core(Settings(data_dir=data_dir, database_url=url))
    go = multiprocessing.Event()
    procs = [multiprocessing.Process(target=writer, args=(str(data_dir), url, facts, w, go)) for w in range(writers)]
    for p in procs:
        p.start()
    time.sleep(2)  # let every writer open its database first
    total = writers * facts
    lags: list[float] = []
    done = 0
    t0 = time.perf_counter()
    go.set()
    last_report = t0
    while done < total:
        start = core.ledger.size
        n = core.ledger.integrate(batch=5000)
        if not n:
            time.sleep(0.005)
            continue
        now = time.time()
        with core.sessions() as s:
            stamps = s.scalars(select(LedgerEntry.ts).where(LedgerEntry.index >= start,
                                                            LedgerEntry.index < start + n))
            lags.extend((now - parse_ts(ts)) * 1000 for ts in stamps)
        done += n
        if time.perf_counter() - last_report > 2:
            last_report = time.perf_counter()
            print(f"  {done}/{total} leaves integrated", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    live_rate = total / elapsed
    # The sequencer alone: a backlog as large as what the writers wrote, integrated flat out.
    with core.sessions() as s:
        for i in range(total):
            core.ledger.record(s, "bench.backlog", {"i": i})
            if i % 1000 == 999:
                s.commit()
        s.commit()
    t1 = time.perf_counter()
    core.ledger.integrate_all()
    drain_rate = total / (time.perf_counter() - t1)
    core.ledger.checkpoint()
    db = core.engine.dialect.name
    core.engine.dispose()
    p99 = statistics.quantiles(lags, n=100)[98] if len(lags) > 2 else max(lags)
    print(f"  while writing: {live_rate:,.0f} facts/s committed and integrated as they came", file=sys.stderr)
    return (f"ledger: db={db} workers={writers} facts={total} leaves_per_s={drain_rate:.0f} "
            f"lag_p50_ms={statistics.median(lags):.0f} lag_p99_ms={p99:.0f} live_facts_per_s={live_rate:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--facts", type=int, default=5000, help="facts per writer")
    ap.add_argument("--database-url", default="")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        url = a.database_url or f"sqlite:///{Path(d) / 'controller.db'}"
        print(run(Path(d), url, a.writers, a.facts))


if __name__ == "__main__":
    main()
