"""Scoring a large project, and the quality dashboard's response time while annotators work.

    .venv/bin/python -m bench.quality [--annotations 100000] [--annotators 1000] [--seconds 10]
        [--workers 4] [--drivers 2] [--think 1] [--polls-per-s 5]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

A throwaway PostgreSQL database is made (dropped afterwards) and filled as bench/annotation_load
fills it (its ``prepare``: the site, N annotators at their seats, a k = 2 text classification
project), then --annotations annotations are written directly: two per task on the first half of
them, each by two different annotators who err at their own rate (0 to 10 %), with one task in
ten gold. The scoring (controller/services/quality.py's ``score_project``: reading the rows, then
annotation/quality/report.py) is timed three times
in this process; the median is score_s (goal < 5 s at 100,000).

Then `siteguard controller --workers W` serves it: N annotators work through the rest of the
tasks with bench/annotation_load's driver (next -> submit, --think seconds on each), while an
officer's client asks GET /api/projects/{id}/quality --polls-per-s times a second. The board
answers the report stored in the database while one worker scores the project again behind it
as the work changes; the first request scores it, and a few requests before the clock runs let
each worker read the stored report once (their times go to stderr). Last line, e.g.
    quality: annotations=100000 score_s=... dashboard_p50_ms=... dashboard_p99_ms=... cycles_per_s=... errors=...
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import insert, select, text, update

from annotation.quality.report import report
from bench.annotation_load import (
    DEFAULT_ADMIN_URL,
    K,
    drive,
    pct,
    prepare,
    throwaway_database,
)
from controller.annotation_tables import Annotation, Item, Project, Task
from controller.app import open_core
from controller.models import ApiToken, Role, User, utcnow
from controller.security import hash_password, new_token
from controller.services.quality import facts
from controller.settings import Settings
from tests.conftest import ControllerRig

LABELS = ("pos", "neg")
GOLD_EVERY = 10


def fill(url: str, data: Path, pid: int, annotations: int, seed: int = 7) -> int:
    """Two annotations on each of the first annotations / 2 tasks, a gold answer on one task in
    ten, and an officer with an API token (returned)."""
    rnd = random.Random(seed)
    core = open_core(Settings(data_dir=data, database_url=url))
    with core.sessions() as s:
        people = list(s.scalars(select(User.id).where(User.username.like("load%")).order_by(User.id)))
        err = {p: rnd.uniform(0.0, 0.10) for p in people}
        tasks = list(s.execute(select(Task.id, Task.item_id).where(Task.project_id == pid).order_by(Task.id)
                               .limit(annotations // K)))
        now = utcnow()
        rows, gold = [], []
        clock = {p: now - dt.timedelta(hours=8) for p in people}
        for n, (task, item) in enumerate(tasks):
            truth = rnd.choice(LABELS)
            if n % GOLD_EVERY == 0:
                gold.append((item, {"label": truth}))
            for who in rnd.sample(people, K):
                label = truth if rnd.random() >= err[who] else LABELS[1 - LABELS.index(truth)]
                clock[who] += dt.timedelta(seconds=rnd.uniform(5, 40))
                rows.append({"project_id": pid, "task_id": task, "annotator_id": who, "version": 1,
                             "result": {"label": label}, "item_sha256": "0" * 64, "seat": None, "prev_hash": None,
                             "hash": uuid.uuid4().hex * 2, "created_at": clock[who]})
        for i in range(0, len(rows), 10_000):
            s.execute(insert(Annotation), rows[i:i + 10_000])
        for item, answer in gold:  # few enough (one task in ten) to write one by one in one transaction
            s.execute(update(Item).where(Item.id == item).values(is_gold=True, gold_answer=answer))
        # The annotated tasks' places are taken, so the working annotators get the rest.
        s.execute(text("UPDATE task_slots s SET state = 'submitted', annotator_id = a.annotator_id "
                       "FROM (SELECT task_id, annotator_id, row_number() OVER (PARTITION BY task_id ORDER BY id) - 1 "
                       "AS slot FROM annotations WHERE project_id = :p) a "
                       "WHERE s.task_id = a.task_id AND s.slot = a.slot"), {"p": pid})
        s.execute(text("UPDATE tasks SET submitted = :k, status = 'complete' WHERE id IN "
                       "(SELECT task_id FROM annotations WHERE project_id = :p)"), {"k": K, "p": pid})
        s.execute(insert(User), [{"username": "bench-officer", "password_hash": hash_password("bench-officer-pass"),
                                  "role": Role.officer.value, "customer_id": None, "active": True, "created_at": now}])
        officer = s.scalar(select(User.id).where(User.username == "bench-officer"))
        token, digest = new_token()
        s.execute(insert(ApiToken), [{"user_id": officer, "token_hash": digest, "created_at": now,
                                      "expires_at": now + dt.timedelta(days=1), "label": "bench", "client": "bench",
                                      "revoked_at": None}])
        s.commit()
        s.execute(text("ANALYZE"))
        s.commit()
    core.engine.dispose()
    return token


def time_scoring(url: str, data: Path, pid: int, runs: int = 3) -> tuple[float, dict]:
    core = open_core(Settings(data_dir=data, database_url=url))
    times, reads, rep = [], [], {}
    for _ in range(runs):
        with core.sessions() as s:
            t0 = time.perf_counter()
            f = facts(s, s.get(Project, pid))  # score_project, in its two steps
            reads.append(time.perf_counter() - t0)
            rep = report(f)
            times.append(time.perf_counter() - t0)
    core.engine.dispose()
    print(f"  scoring: {', '.join(f'{t:.2f}s' for t in times)} (reading the rows: "
          f"{', '.join(f'{t:.2f}s' for t in reads)}); {rep['submissions']} submissions, "
          f"{rep['gold_submissions']} on gold, accuracy {rep['metrics'][0]['value']:.4f}, "
          f"alpha {rep['agreement']['alpha']['value']:.4f}", file=sys.stderr, flush=True)
    return statistics.median(times), rep


def poll(base: str, token: str, pid: int, end: float, per_s: float, out: list[float], errors: list[str]) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        while time.monotonic() < end:
            t0 = time.perf_counter()
            try:
                r = c.get(f"/api/projects/{pid}/quality")
                if r.status_code != 200:
                    errors.append(f"quality {r.status_code}")
                out.append((time.perf_counter() - t0) * 1000)
            except httpx.HTTPError as exc:
                errors.append(f"quality {type(exc).__name__}")
            time.sleep(max(0.0, 1 / per_s - (time.perf_counter() - t0)))


def run(admin_url: str, annotations: int, annotators: int, seconds: float, workers: int, drivers: int,
        think: float, per_s: float) -> str:
    rig = None
    with throwaway_database(admin_url) as url:
        try:
            with tempfile.TemporaryDirectory() as d:
                tmp = Path(d)
                data = tmp / "controller"
                t0 = time.perf_counter()
                free = max(2 * annotators, int(seconds * 1500 / K) + annotators)
                pid, tokens = prepare(data, url, annotators, annotations // K + free)
                officer = fill(url, data, pid, annotations)
                print(f"  {annotations} annotations prepared in {time.perf_counter() - t0:.1f}s", file=sys.stderr,
                      flush=True)
                score_s, _ = time_scoring(url, data, pid)
                rig = ControllerRig(tmp, url, site=None, workers=workers)
                rig.env["SITEGUARD_AGENT_OFFLINE_AFTER_S"] = "86400"
                rig.env["SITEGUARD_LOG_LEVEL"] = "WARNING"
                rig.env["SITEGUARD_CHECKPOINT_EVERY_S"] = "10"
                rig.start()
                warm: list[float] = []
                errors: list[str] = []
                with httpx.Client(base_url=rig.url, headers={"Authorization": f"Bearer {officer}"}, timeout=60) as c:
                    for _ in range(4 * workers):  # so that every worker has most likely read the stored report
                        t0 = time.perf_counter()
                        if c.get(f"/api/projects/{pid}/quality").status_code != 200:
                            errors.append("warm-up")
                        warm.append((time.perf_counter() - t0) * 1000)
                print(f"  warm-up: {len(warm)} requests, slowest {max(warm):.0f} ms", file=sys.stderr, flush=True)
                members = list(enumerate(tokens))
                shares = [members[j::drivers] for j in range(min(drivers, annotators))]
                start = time.time() + 2 + annotators / 500
                lat: list[float] = []
                poller = threading.Thread(target=lambda: (time.sleep(max(0.0, start - time.time())), poll(
                    rig.url, officer, pid, time.monotonic() + seconds, per_s, lat, errors)))
                poller.start()
                with multiprocessing.Pool(len(shares)) as pool:
                    parts = pool.starmap(drive, [(rig.url, pid, share, start, seconds, think) for share in shares])
                poller.join()
                rig.proc.stop()
                if errors or any(p["errors"] for p in parts):  # what the controller said about them
                    said = [ln for ln in rig.proc.log().splitlines() if "Error" in ln or "error" in ln]
                    print("  controller: " + "\n  controller: ".join(said[-5:]), file=sys.stderr)
        finally:
            if rig is not None:
                rig.proc.stop()
    work_errors = [e for p in parts for e in p["errors"]]
    if errors or work_errors:
        print(f"  errors: {(errors + work_errors)[:3]}", file=sys.stderr)
    cycles = sum(p["cycles"] for p in parts)
    nxt = [x for p in parts for x in p["next"]]
    if nxt:
        print(f"  the annotators' next: p50 {statistics.median(nxt):.1f} ms, p99 {pct(nxt, 99):.1f} ms; "
              f"{len(lat)} dashboard requests", file=sys.stderr)
    return (f"quality: annotations={annotations} score_s={score_s:.2f} "
            f"dashboard_p50_ms={statistics.median(lat) if lat else float('nan'):.1f} "
            f"dashboard_p99_ms={pct(lat, 99):.1f} cycles_per_s={cycles / seconds:.0f} "
            f"errors={len(errors) + len(work_errors)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--annotations", type=int, default=100_000)
    ap.add_argument("--annotators", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--workers", type=int, default=4, help="the controller's HTTP worker processes")
    ap.add_argument("--drivers", type=int, default=2, help="processes driving the annotators")
    ap.add_argument("--think", type=float, default=1.0, help="seconds each annotator spends on an item")
    ap.add_argument("--polls-per-s", type=float, default=5, help="dashboard requests a second")
    ap.add_argument("--database-url", default=DEFAULT_ADMIN_URL,
                    help="a PostgreSQL server's URL; the bench makes and drops its own database there")
    a = ap.parse_args()
    if not a.database_url.startswith("postgresql"):
        ap.error("--database-url must be PostgreSQL")
    print(run(a.database_url, a.annotations, a.annotators, a.seconds, a.workers, a.drivers, a.think,
              a.polls_per_s), flush=True)


if __name__ == "__main__":
    main()
