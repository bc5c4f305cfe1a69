"""Events per second through the durable path (edge outbox -> CurveZMQ -> controller database),
next to the same events written straight into the controller's database.

    .venv/bin/python -m bench.wire [--events 20000] [--database-url URL]

The last line prints the figures, e.g.
    wire: events=20000 outbox_to_db_eps=... direct_db_eps=... ratio=...
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from controller.app import open_core
from controller.ingest import customer_ids, store_events
from controller.models import Agent
from controller.settings import Settings
from controller.sites import apply_site_config
from edge_agent.store import EdgeStore
from edge_agent.wire.kinds import EventKind
from edge_agent.wire.messages import Event
from edge_agent.wire.site import load_site_file
from tests.conftest import DEMO_SITE, ControllerRig, make_agent, wait_for

BATCH = 500
# A kind the controller only stores (no projection, no ledger), so the figure is the link's.
KIND = EventKind.NETWORK_CHANGE_PROGRESS.value


def payload(n: int) -> dict:
    return {"change": "bench", "device": f"sw-{n}", "status": "sent"}


def durable(tmp: Path, events: int, database_url: str) -> float:
    rig = ControllerRig(tmp, database_url).start()
    agent = make_agent(tmp, rig)
    try:
        agent.start()
        engine = create_engine(database_url)

        def stored() -> int:
            with engine.connect() as c:
                return c.execute(text("SELECT count(*) FROM events WHERE kind = :kind"), {"kind": KIND}).scalar()

        wait_for(lambda: agent_online(engine), timeout=60, what="agent online")
        outbox = EdgeStore(tmp / "edge-1" / "edge.db")
        t0 = time.perf_counter()
        for start in range(0, events, BATCH):
            outbox.append_many([(KIND, payload(n), None) for n in range(start, start + BATCH)])
        appended = time.perf_counter() - t0
        last = 0
        while (n := stored()) < events:
            if n // 5000 != last // 5000:
                print(f"  durable path: {n}/{events} stored", file=sys.stderr, flush=True)
            last = n
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        print(f"  outbox append alone: {events / appended:,.0f} events/s", file=sys.stderr)
        engine.dispose()
        return events / elapsed
    finally:
        agent.stop()
        rig.proc.stop()


def agent_online(engine) -> bool:
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM agents WHERE last_seen_at IS NOT NULL")).scalar() > 0


def direct(tmp: Path, events: int, database_url: str) -> float:
    core = open_core(Settings(data_dir=tmp / "direct", database_url=database_url))
    with core.sessions() as s:
        site, _ = apply_site_config(s, load_site_file(DEMO_SITE))
        agent = Agent(name="direct", site_id=site.id, public_key="d" * 40, status={})
        s.add(agent)
        s.commit()
        cids = customer_ids(s)
        t0 = time.perf_counter()
        for start in range(0, events, BATCH):
            batch = [Event(seq=n + 1, ts="2026-11-25T00:00:00.000000Z", kind=KIND, data=payload(n))
                     for n in range(start, start + BATCH)]
            store_events(s, agent.id, site.id, batch, cids)
            s.commit()
        elapsed = time.perf_counter() - t0
    core.engine.dispose()
    return events / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--database-url", help="default: a fresh SQLite file per run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        url_a = args.database_url or f"sqlite:///{tmp / 'a' / 'controller.db'}"
        url_b = args.database_url or f"sqlite:///{tmp / 'b.db'}"
        (tmp / "a").mkdir()
        print(f"durable path, {args.events} events …", file=sys.stderr, flush=True)
        eps_durable = durable(tmp / "a", args.events, url_a)
        if args.database_url:  # same database: clear the first run's rows
            with create_engine(url_b).begin() as c:
                c.execute(text("DELETE FROM events"))
        print("direct database writes …", file=sys.stderr, flush=True)
        eps_direct = direct(tmp, args.events, url_b)
    db = "postgresql" if "postgresql" in (args.database_url or "") else "sqlite"
    print(f"wire: db={db} events={args.events} outbox_to_db_eps={eps_durable:.0f} "
          f"direct_db_eps={eps_direct:.0f} ratio={eps_durable / eps_direct:.2f}")


if __name__ == "__main__":
    main()
