"""Closed-loop annotators against the real HTTP API: each one at its own workstation address,
each cycle the next task then its submit, every request through the site's policy check.

    .venv/bin/python -m bench.annotation_load [--n 10,100,1000] [--seconds 20] [--workers 4]
        [--drivers 2] [--think 0] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

For each N a throwaway PostgreSQL database is made (dropped afterwards) on the server of
--database-url, with a site file built from the demo site: one more customer whose VLAN is
127.16.0.0/12, N seats with workstations 127.16.x.y, N trained people with `user:` logins, an
edge on line vouching for every seat, the gates' record putting everyone inside, and a project
(k = 2) with the N annotators as members. Users get a shared password hash and an API token
each written directly (nobody logs in). Then `siteguard controller --workers W` serves it and
N annotators, each an aiohttp client bound to its own loopback source address (Linux routes all
of 127/8 to lo), loop next -> submit for --seconds, spread over --drivers processes.

With --think 0 (the default) the loop is closed with no pause, which measures the most the
server does: then every request waits behind the N - 1 others, and a request's latency is about
N over the throughput (Little's law), so no server gives p99 < 200 ms at N = 1000 below about
5000 cycles/s. --think T gives each annotator T seconds (0.5 T to 1.5 T) on each item, as people
take, and measures the latency a thousand people at work would see.

Afterwards the database is asked for over-assigned tasks (more submitted places than wanted, or
one task twice to one annotator); errors are answers other than 2xx (204 included as a 2xx) and
failed requests. One line per N; the last one, e.g.
    annotation_load: n=1000 cycles_per_s=... next_p50_ms=... next_p99_ms=... submit_p50_ms=... submit_p99_ms=... errors=... over_assigned=...
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import yaml
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from controller.annotation_tables import (
    Annotation,
    Dataset,
    Item,
    Project,
    ProjectMember,
    Task,
    TaskSlot,
)
from controller.app import open_core
from controller.models import Agent, ApiToken, Customer, Presence, Role, User, utcnow
from controller.security import hash_password, new_token
from controller.settings import Settings
from controller.sites import apply_site_config
from edge_agent.wire.site import parse_site_text
from tests.conftest import DEMO_SITE, ControllerRig

DEFAULT_ADMIN_URL = os.environ.get("SITEGUARD_TEST_POSTGRES_URL",
                                   "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CUSTOMER, K = "loadco", 2


def address(i: int) -> str:
    return f"127.16.{i // 250}.{i % 250 + 2}"


def site_text(n: int) -> str:
    """The demo site plus one customer on 127.16.0.0/12, n seats at 127.16.x.y and n people."""
    site = yaml.safe_load(DEMO_SITE.read_text())
    site["customers"].append({"id": CUSTOMER, "name": "Load Test Ltd.", "vlans": [
        {"id": 160, "name": "loadco-annotation", "subnet": "127.16.0.0/12", "gateway": "127.16.0.1"}]})
    view = site["seats"][0]["views"][0]
    for i in range(n):
        site["seats"].append({"id": f"L{i:05d}", "customer": CUSTOMER, "workstation": address(i),
                              "position": {"x": 1.0 + (i % 100) * 0.1, "y": 20.0 + (i // 100) * 0.1},
                              "views": [view]})
        site["people"].append({"id": f"lp-{i:05d}", "name": f"Load Person {i}", "role": "annotator",
                               "user": f"load{i:05d}", "customers": [CUSTOMER],
                               "training": {"completed": "2025-01-01", "expires": "2030-01-01"}})
    return yaml.safe_dump(site, sort_keys=False)


# Indexes the claim path would use that the schema does not have (for --claim-indexes): one
# annotator's places in a project, and the open places of a project in claim order.
CLAIM_INDEXES = (
    "CREATE INDEX bench_task_slots_annotator ON task_slots (annotator_id, project_id, state)",
    "CREATE INDEX bench_task_slots_open ON task_slots (project_id, task_id, slot) WHERE state <> 'submitted'",
)


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of ``admin_url``, dropped afterwards; yields its URL."""
    name = f"sg_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def prepare(data: Path, url: str, n: int, tasks: int, claim_indexes: bool = False) -> tuple[int, list[str]]:
    """The site, the live facts, the users with their tokens and the project; (project, tokens)."""
    core = open_core(Settings(data_dir=data, database_url=url))
    with core.sessions() as s:
        site, _ = apply_site_config(s, parse_site_text(site_text(n)))
        s.commit()
        seats = {f"L{i:05d}": {"covered": True, "reasons": []} for i in range(n)}
        s.add(Agent(name="edge-load", site_id=site.id, public_key="l" * 40, status={"seats": seats},
                    last_seen_at=utcnow()))
        now = utcnow()
        s.execute(insert(Presence), [{"site_id": site.id, "person": f"lp-{i:05d}", "area": "floor3", "since": now,
                                      "gate": "gate-main"} for i in range(n)])
        cid = s.scalar(select(Customer.id).where(Customer.slug == CUSTOMER))
        shared = hash_password("load-pass-word")  # one hash for all: nobody logs in
        s.execute(insert(User), [{"username": f"load{i:05d}", "password_hash": shared, "role": Role.annotator.value,
                                  "customer_id": None, "active": True, "created_at": now} for i in range(n)])
        ids = dict(s.execute(select(User.username, User.id).where(User.username.like("load%"))).all())
        tokens, rows = [], []
        for i in range(n):
            token, digest = new_token()
            tokens.append(token)
            rows.append({"user_id": ids[f"load{i:05d}"], "token_hash": digest, "created_at": now,
                         "expires_at": now + dt.timedelta(days=1), "label": "load", "client": "bench",
                         "revoked_at": None})
        s.execute(insert(ApiToken), rows)
        project = Project(customer_id=cid, slug="load", name="Load", modality="text",
                          label_schema={"kind": "classification", "labels": ["pos", "neg"]},
                          annotators_per_task=K, created_by="bench")
        s.add(project)
        s.flush()
        ds = Dataset(project_id=project.id, name="load", status="done", created_by="bench")
        s.add(ds)
        s.flush()
        s.execute(insert(Item), [{"project_id": project.id, "dataset_id": ds.id, "sha256": f"{i:064x}",
                                  "media_type": "text/plain", "size": 10, "source_name": "", "meta": {},
                                  "is_gold": False, "created_at": now} for i in range(tasks)])
        items = list(s.scalars(select(Item.id).where(Item.project_id == project.id).order_by(Item.id)))
        s.execute(insert(Task), [{"project_id": project.id, "item_id": it, "wanted": K, "submitted": 0,
                                  "status": "open", "created_at": now} for it in items])
        task_ids = list(s.scalars(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)))
        s.execute(insert(TaskSlot), [{"project_id": project.id, "task_id": t, "slot": k, "state": "free"}
                                     for t in task_ids for k in range(K)])
        s.execute(insert(ProjectMember), [{"project_id": project.id, "user_id": ids[f"load{i:05d}"],
                                           "can_review": False, "added_by": "bench", "added_at": now}
                                          for i in range(n)])
        s.commit()
        for ddl in CLAIM_INDEXES if claim_indexes else ():
            s.execute(text(ddl))
        s.execute(text("ANALYZE"))  # the planner's statistics, as a database in service has them
        s.commit()
        pid = project.id
    core.engine.dispose()
    return pid, tokens


async def annotator(base: str, pid: int, i: int, token: str, end: float, think: float, out: dict) -> None:
    # aiohttp: a thousand clients cost the shared CPU less than with httpx, leaving it to the server.
    connector = aiohttp.TCPConnector(local_addr=(address(i), 0), limit=1)
    async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=30),
                                     headers={"Authorization": f"Bearer {token}"}) as c:
        if think:  # people do not all start at the same second
            await asyncio.sleep(random.uniform(0, think))
        while time.monotonic() < end:
            try:
                t0 = time.perf_counter()
                async with c.post(f"/api/work/projects/{pid}/next") as r:
                    body = await r.read()
                out["next"].append((time.perf_counter() - t0) * 1000)
                if r.status == 204:
                    out["empty"] += 1
                    await asyncio.sleep(0.05)
                    continue
                if r.status != 200:
                    out["errors"].append(f"next {r.status} {body[:120]!r}")
                    continue
                task = json.loads(body)["task"]
                t0 = time.perf_counter()
                async with c.post(f"/api/work/tasks/{task}/submit", json={"result": {"label": "pos"}}) as r:
                    body = await r.read()
                out["submit"].append((time.perf_counter() - t0) * 1000)
                if r.status != 200:
                    out["errors"].append(f"submit {r.status} {body[:120]!r}")
                    continue
                out["cycles"] += 1
                if think:  # a person looks at the item before the next one: 0.5 to 1.5 times --think
                    await asyncio.sleep(think * random.uniform(0.5, 1.5))
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                out["errors"].append(f"{type(exc).__name__}: {exc}")


def drive(base: str, pid: int, members: list[tuple[int, str]], start: float, seconds: float,
          think: float) -> dict:
    """One driver process: its share of the annotators, all in one event loop."""
    out = {"next": [], "submit": [], "errors": [], "cycles": 0, "empty": 0}

    async def main() -> None:
        await asyncio.sleep(max(0.0, start - time.time()))
        end = time.monotonic() + seconds
        await asyncio.gather(*(annotator(base, pid, i, tok, end, think, out) for i, tok in members))

    asyncio.run(main())
    return out


def over_assigned(url: str, pid: int) -> int:
    eng = create_engine(url)
    with eng.connect() as c:
        slots = (select(TaskSlot.task_id).where(TaskSlot.project_id == pid, TaskSlot.state == "submitted")
                 .group_by(TaskSlot.task_id).having(func.count() > select(Task.wanted).where(
                     Task.id == TaskSlot.task_id).scalar_subquery()))
        counted = select(func.count()).select_from(Task).where(Task.project_id == pid, Task.submitted > Task.wanted)
        twice = (select(Annotation.task_id, Annotation.annotator_id).where(Annotation.project_id == pid)
                 .group_by(Annotation.task_id, Annotation.annotator_id).having(func.count() > 1))
        n = len(c.execute(slots).all()) + c.scalar(counted) + len(c.execute(twice).all())
    eng.dispose()
    return n


def pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 2 else max(values)


def run_one(admin_url: str, n: int, seconds: float, workers: int, drivers: int, claim_indexes: bool,
            think: float = 0.0) -> str:
    rig = None
    with throwaway_database(admin_url) as url:
        try:
            with tempfile.TemporaryDirectory() as d:
                tmp = Path(d)
                tasks = max(2 * n, int(seconds * 1500 / K) + n)  # more than the loop can take
                t0 = time.perf_counter()
                pid, tokens = prepare(tmp / "controller", url, n, tasks, claim_indexes)
                print(f"  n={n}: {tasks} tasks prepared in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
                rig = ControllerRig(tmp, url, site=None, workers=workers)
                rig.env["SITEGUARD_AGENT_OFFLINE_AFTER_S"] = "86400"  # the edge's one heartbeat counts all run
                rig.env["SITEGUARD_LOG_LEVEL"] = "WARNING"
                rig.start()
                members = list(enumerate(tokens))
                shares = [members[j::drivers] for j in range(min(drivers, n))]
                start = time.time() + 2 + n / 500  # every driver's clients are made before the clock runs
                with multiprocessing.Pool(len(shares)) as pool:
                    parts = pool.starmap(drive, [(rig.url, pid, share, start, seconds, think) for share in shares])
                rig.proc.stop()  # its connections back to the server before the count
                if any(p["errors"] for p in parts):  # what the controller said about them
                    said = [ln for ln in rig.proc.log().splitlines() if "Error" in ln or "error" in ln]
                    print("  controller: " + "\n  controller: ".join(said[-5:]), file=sys.stderr)
                over = over_assigned(url, pid)
        finally:
            if rig is not None:
                rig.proc.stop()
    nxt = [x for p in parts for x in p["next"]]
    sub = [x for p in parts for x in p["submit"]]
    errors = [e for p in parts for e in p["errors"]]
    cycles, empty = sum(p["cycles"] for p in parts), sum(p["empty"] for p in parts)
    if errors:
        print(f"  n={n}: {len(errors)} errors, e.g. {errors[:3]}", file=sys.stderr)
    if empty:
        print(f"  n={n}: {empty} times nothing was free", file=sys.stderr)
    return (f"annotation_load: n={n}{f' think_s={think:g}' if think else ''} cycles_per_s={cycles / seconds:.0f} next_p50_ms={statistics.median(nxt):.1f} "
            f"next_p99_ms={pct(nxt, 99):.1f} submit_p50_ms={statistics.median(sub) if sub else float('nan'):.1f} "
            f"submit_p99_ms={pct(sub, 99):.1f} errors={len(errors)} over_assigned={over}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", default="10,100,1000", help="annotator counts, comma-separated")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=4, help="the controller's HTTP worker processes")
    ap.add_argument("--drivers", type=int, default=2, help="processes driving the annotators")
    ap.add_argument("--database-url", default=DEFAULT_ADMIN_URL,
                    help="a PostgreSQL server's URL; the bench makes and drops its own database there")
    ap.add_argument("--claim-indexes", action="store_true",
                    help="add the two indexes the claim path would use (not in the schema) before the run")
    ap.add_argument("--think", type=float, default=0.0,
                    help="seconds each annotator spends on an item between submit and next (0: a closed loop "
                         "that saturates the server)")
    a = ap.parse_args()
    if not a.database_url.startswith("postgresql"):
        ap.error("--database-url must be PostgreSQL")
    for n in (int(x) for x in a.n.split(",") if x.strip()):
        print(run_one(a.database_url, n, a.seconds, a.workers, a.drivers, a.claim_indexes, a.think), flush=True)


if __name__ == "__main__":
    main()
